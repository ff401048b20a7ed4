from accounts.forms.responsible import BreakForm, DepositLimitsForm, SelfExclusionForm  # noqa: F401
from accounts.forms.wallet import AmountForm, SignupForm  # noqa: F401
