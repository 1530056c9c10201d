"""ERP connectors: partners as vendors, payouts as vendor bills, payment status back."""
