"""SQLAlchemy 2 typed models: the whole schema, shaped for the ledger, leases, plans and stocktakes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    """Current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC without zone (same on SQLite and PostgreSQL); always returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base; naming convention keeps constraint names stable across databases."""

    type_annotation_map: dict[Any, Any] = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON}


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Region(Base):
    """GB/T 2260 administrative division: 36 → 3601 → 360121 → 360121100000."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)  # 1 province, 2 city, 3 county, 4 township
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)


class Location(Base):
    """A depot, reserve point, vendor warehouse, vehicle, staging site or bin; a tree."""

    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True)  # "/1/7/" ancestors and self
    # The nearest location that is not a bin (itself unless it is a bin): where its stock is counted
    # for availability and dispatch.
    site_id: Mapped[int | None] = mapped_column(Integer, index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    source_crs: Mapped[str | None] = mapped_column(String(8))
    source_lat: Mapped[float | None] = mapped_column(Float)
    source_lon: Mapped[float | None] = mapped_column(Float)
    coord_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    agreement_lead_hours: Mapped[float | None] = mapped_column(Float)  # vendor commitment (协议储备)
    label_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_locations_lat_lon", "lat", "lon"),)


class ItemType(Base):
    """A catalogue entry (物资品目): bulk or serial, tags, typed attributes."""

    __tablename__ = "item_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    gbt_code: Mapped[str | None] = mapped_column(String(7), index=True)
    name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(16))
    tracking: Mapped[str] = mapped_column(String(8))  # bulk | serial
    category: Mapped[str] = mapped_column(String(40), index=True)
    tags_mask: Mapped[int] = mapped_column(Integer, default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    inspection_interval_days: Mapped[int | None] = mapped_column(Integer)
    min_stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (CheckConstraint("tracking IN ('bulk', 'serial')", name="tracking"),)


class ItemTypeAttribute(Base):
    """One typed attribute of an item type, normalised so filters run in SQL on both databases."""

    __tablename__ = "item_type_attributes"
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    num_value: Mapped[float | None] = mapped_column(Float)
    str_value: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (Index("ix_item_type_attributes_name_num", "name", "num_value"),)


class Lot(Base):
    """A batch of a bulk item type (批次): number, origin, production and expiry dates."""

    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    number: Mapped[str] = mapped_column(String(60))
    origin: Mapped[str] = mapped_column(String(100), default="")
    quality: Mapped[str] = mapped_column(String(40), default="", server_default="")  # 质量: 合格, 一等品…
    production_date: Mapped[dt.date | None] = mapped_column(Date)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    label_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("item_type_id", "number", name="uq_lots_item_type_number"),)


class Asset(Base):
    """A serial unit (装备单件) with status, location, ownership and readiness."""

    __tablename__ = "assets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    serial_number: Mapped[str] = mapped_column(String(60))
    label_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    ownership: Mapped[str] = mapped_column(String(12), default="owned")
    readiness: Mapped[str] = mapped_column(String(8), default="unknown")  # ok | fault | unknown
    battery_pct: Mapped[int | None] = mapped_column(Integer)
    fuel_pct: Mapped[int | None] = mapped_column(Integer)
    fault_note: Mapped[str] = mapped_column(String(200), default="")
    last_inspected_at: Mapped[dt.datetime | None] = mapped_column()
    next_inspection_due: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_assets_item_status", "item_type_id", "status"),
        Index("ix_assets_location_item_status", "location_id", "item_type_id", "status"),  # availability, site-first
        UniqueConstraint("item_type_id", "serial_number", name="uq_assets_item_type_serial"),
        CheckConstraint("battery_pct IS NULL OR (battery_pct BETWEEN 0 AND 100)", name="battery"),
        CheckConstraint("fuel_pct IS NULL OR (fuel_pct BETWEEN 0 AND 100)", name="fuel"),
    )


class Document(Base):
    """A voucher (单据) posting movements; append-only — a correction is a reversing document."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    actor: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(100), default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), unique=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    counterparty: Mapped[str] = mapped_column(String(100), default="")  # person, unit or incident
    __table_args__ = (
        CheckConstraint(
            "kind IN ('receipt', 'issue', 'transfer', 'transfer_receipt', 'adjustment', 'write_off', "
            "'return', 'reservation', 'dispatch')",
            name="kind",
        ),
    )


class Movement(Base):
    """One signed change of one bucket (on_hand, in_transit, reserved) at one place; append-only."""

    __tablename__ = "movements"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    bucket: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(Integer)
    # For a serial unit: its status and place before and after, so a reversal can restore them.
    asset_status_before: Mapped[str | None] = mapped_column(String(16))
    asset_status_after: Mapped[str | None] = mapped_column(String(16))
    asset_location_before: Mapped[int | None] = mapped_column(Integer)
    asset_location_after: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_movements_location_item", "location_id", "item_type_id", "id"),
        Index("ix_movements_item_created", "item_type_id", "created_at"),
        CheckConstraint("quantity <> 0", name="nonzero"),
        CheckConstraint("bucket IN ('on_hand', 'in_transit', 'reserved')", name="bucket"),
    )


class Balance(Base):
    """Current figures per (location, item type, lot); kept with the movements, recomputable."""

    __tablename__ = "balances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    lot_key: Mapped[int] = mapped_column(Integer, default=0)  # lot_id or 0: NULL-free uniqueness
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    in_transit: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("location_id", "item_type_id", "lot_key", name="uq_balances_key"),
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
        CheckConstraint("in_transit >= 0", name="in_transit"),
    )


class IdempotencyKey(Base):
    """A write's key and its stored response, so a retried request is applied exactly once."""

    __tablename__ = "idempotency_keys"
    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Setting(Base):
    """Small key/value state shared between processes (e.g. demo markers)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)





class User(Base):
    """A person who signs in: role and scope decide what they may do."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    role: Mapped[str] = mapped_column(String(16))
    scope_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_locations: Mapped[list[int]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (CheckConstraint("role IN ('admin', 'commander', 'keeper', 'auditor')", name="role"),)


class AuthToken(Base):
    """An opaque bearer token or page session, stored only as its SHA-256 hash."""

    __tablename__ = "auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # bearer | session
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class LoginFailure(Base):
    """A failed sign-in, kept for throttling (five per username per 15 minutes)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),)


class AuditEntry(Base):
    """One write attempt: who, when, from where, what, on which targets, and how it ended. Append-only."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_ids: Mapped[str] = mapped_column(String(300), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied | rejected | error | replayed
    status_code: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(500), default="")
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_ids"),)


class LabelCode(Base):
    """Every QR label code ever issued: what it names, and what replaced it if it was re-issued."""

    __tablename__ = "label_codes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_type: Mapped[str] = mapped_column(String(10))  # asset | lot | location
    target_id: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column()
    replaced_by: Mapped[str | None] = mapped_column(String(16))
    __table_args__ = (Index("ix_label_codes_target", "target_type", "target_id"),)


class Incident(Base):
    """An emergency (事件): where it is, and the staging location that dispatched stock travels to."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    source_crs: Mapped[str] = mapped_column(String(8))
    source_lat: Mapped[float] = mapped_column(Float)
    source_lon: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8), default="open")
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column()


class Dispatch(Base):
    """A dispatch order (动用指令): approved by a commander, stock reserved at once, executed by keepers."""

    __tablename__ = "dispatches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    approval_mode: Mapped[str] = mapped_column(String(8))  # written | oral
    approved_by: Mapped[str] = mapped_column(String(64))
    document_no: Mapped[str | None] = mapped_column(String(64))
    paperwork_due_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    paperwork_received_at: Mapped[dt.datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DispatchLine(Base):
    """One allocation of a dispatch: a quantity of an item (a lot, or one asset) at one source."""

    __tablename__ = "dispatch_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="reserved")  # reserved|executed|released
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))


class Stocktake(Base):
    """A stocktake (盘点) of a location and its bins: snapshot, counted sheet, approval, adjustment."""

    __tablename__ = "stocktakes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | counted | approved
    counted_by: Mapped[str] = mapped_column(String(64), default="")
    supervised_by: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    snapshot_movement_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    imported_by: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime | None] = mapped_column()
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column()
    adjustment_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))


class StocktakeLine(Base):
    """One line of the snapshot: a lot (or lot-less stock) at a place, or one asset; then its count."""

    __tablename__ = "stocktake_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(ForeignKey("stocktakes.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    book_at_snapshot: Mapped[int] = mapped_column(Integer)
    book_at_count: Mapped[int | None] = mapped_column(Integer)
    counted: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    sheet_row: Mapped[int | None] = mapped_column(Integer)


class StocktakeUpload(Base):
    """Every uploaded counting sheet: accepted, or refused with its errors and a marked-up copy."""

    __tablename__ = "stocktake_uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stocktake_id: Mapped[int | None] = mapped_column(ForeignKey("stocktakes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # counts | opening
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    accepted: Mapped[bool] = mapped_column(Boolean)
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error_copy: Mapped[bytes | None] = mapped_column(LargeBinary)


class WriteOffRequest(Base):
    """A write-off request (报废申请): stock set aside until a commander or admin, not the requester, decides."""

    __tablename__ = "write_off_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    rejection_reason: Mapped[str] = mapped_column(String(200), default="")
    reservation_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))  # the 报废单 posted on approval
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'cancelled')", name="status"),
    )


class WriteOffLine(Base):
    """Stock a write-off request holds: a quantity of one lot (or lot-less stock) or one unit, at one place."""

    __tablename__ = "write_off_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("write_off_requests.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    asset_status: Mapped[str | None] = mapped_column(String(16))  # the unit's status before it was set aside
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)
