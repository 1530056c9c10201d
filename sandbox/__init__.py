"""HTTP emulators of Salesforce, HubSpot, NetSuite and Odoo, following the vendors' public docs."""
