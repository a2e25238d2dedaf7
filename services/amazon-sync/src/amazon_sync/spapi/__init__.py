"""A thin client of Amazon's Selling Partner API of our own: LWA tokens (`lwa`), per-operation rate limits
(`limits`), HTTP with retries (`transport`), the Orders and Reports APIs (`orders`, `reports`), the report
documents' flat files (`flat_files`), all bundled by `SpApiClient` (`client`)."""

from .client import SpApiClient
from .lwa import AccessToken, AccessTokens, LwaRejected
from .transport import SpApiError
from .waits import Stopped

__all__ = ["AccessToken", "AccessTokens", "LwaRejected", "SpApiClient", "SpApiError", "Stopped"]
