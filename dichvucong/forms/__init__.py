"""E-forms of the procedures: validation of what citizens fill in, and fees."""

from dichvucong.forms.fees import Fee, FeeLine, compute_fee
from dichvucong.forms.validation import validate_form

__all__ = ["Fee", "FeeLine", "compute_fee", "validate_form"]
