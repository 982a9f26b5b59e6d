"""The settings billing/ owns: `[billing]`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BillingSettings:
    price_paise: int = field(default=10000, metadata={"min": 0})
    mentor_share_percent: int = field(default=70, metadata={"min": 0, "max": 100})
    gst_percent: int = field(default=18, metadata={"min": 0, "max": 100})
    pay_mentor_on_mentee_no_show: bool = True
    min_payout_paise: int = field(default=50000, metadata={"min": 0})
    tds_percent: int = field(default=1, metadata={"min": 0, "max": 100})
    tds_threshold_paise: int = field(default=5_000_000, metadata={"min": 0})
    razorpay_key_id: str = ""
    razorpay_key_secret: str = ""
    razorpay_webhook_secret: str = ""
    razorpay_base_url: str = ""

    def __post_init__(self) -> None:
        keys = (self.razorpay_key_id, self.razorpay_key_secret, self.razorpay_webhook_secret)
        if any(keys) and not all(keys):
            raise ValueError(
                "razorpay_key_id: set the key id, key secret and webhook secret together "
                "(or none of them, for the local test-payment simulator)"
            )

    @property
    def uses_razorpay(self) -> bool:
        return bool(self.razorpay_key_id)
