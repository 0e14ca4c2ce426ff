"""Writing audit events. Callers pass no secrets: detail is for staff review."""

from __future__ import annotations

from typing import Any

from portal.core.clock import utcnow
from portal.tables import AuditEvent


async def record(
    action: str,
    *,
    actor_id: int | None,
    ip: str = "",
    subject: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    await AuditEvent.insert(
        AuditEvent(
            actor=actor_id,
            action=action,
            at=utcnow(),
            ip=ip,
            subject=subject,
            detail=detail or {},
        )
    )
