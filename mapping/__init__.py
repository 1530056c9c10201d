"""The unified model and, per system, declarative field maps. Pure: no I/O."""

from mapping.model import Accrual, Deal, DealProduct, Money, Partner, Payout

__all__ = ["Accrual", "Deal", "DealProduct", "Money", "Partner", "Payout"]
