"""Who is asking: the identity that travels from the token into every layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "editor", "analyst"]
ALL_BUSINESSES = "all"


@dataclass(frozen=True)
class Identity:
    username: str
    role: Role
    business_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.business_id == ALL_BUSINESSES

    @property
    def may_write(self) -> bool:
        return self.role in ("admin", "editor")

    def may_access(self, business_id: str) -> bool:
        return self.is_admin or self.business_id == business_id
