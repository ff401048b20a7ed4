"""Read-side queries for promotions."""

from promotions.selectors.codes import *  # noqa: F403
from promotions.selectors.vendors import *  # noqa: F403
