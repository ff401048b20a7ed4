from accounts.forms.responsible import BreakForm, DepositLimitsForm, SelfExclusionForm  # noqa: F401
from accounts.forms.wallet import AmountForm, SignupForm, WithdrawForm  # noqa: F401
