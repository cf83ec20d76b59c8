"""SQLAlchemy 2 typed models: the whole schema, one module per capability, all registered on one ``Base``."""

from __future__ import annotations

from inventory.store.models.access import AuditEntry, AuthToken, LoginFailure, User
from inventory.store.models.agreements import (
    Agreement,
    AgreementCallOff,
    AgreementCheck,
    AgreementCheckCount,
    AgreementLine,
)
from inventory.store.models.alerts import Alert, AlertDelivery
from inventory.store.models.base import Base, UTCDateTime, utcnow
from inventory.store.models.catalog import ItemType, ItemTypeAttribute
from inventory.store.models.leases import Lease, LeaseExtension, LeaseLine
from inventory.store.models.places import Location, Region
from inventory.store.models.plans import Plan, PlanLine, PlanProposal, RiskNeed, RiskPoint
from inventory.store.models.quotas import ReserveQuota
from inventory.store.models.readiness import AssetCheck, AssetRepair, MaintenancePlan
from inventory.store.models.relief import Distribution, DistributionLine, Household
from inventory.store.models.response import Dispatch, DispatchLine, Incident
from inventory.store.models.stock import Asset, Balance, Document, Lot, Movement
from inventory.store.models.stocktake import Stocktake, StocktakeLine, StocktakeUpload
from inventory.store.models.supply_requests import (
    SupplyRequest,
    SupplyRequestAnswer,
    SupplyRequestAnswerLine,
    SupplyRequestLine,
)
from inventory.store.models.system import IdempotencyKey, LabelCode, Setting
from inventory.store.models.write_offs import WriteOffLine, WriteOffRequest

__all__ = [
    "Agreement", "AgreementCallOff", "AgreementCheck", "AgreementCheckCount", "AgreementLine", "Alert", "AlertDelivery",
    "Asset", "AssetCheck", "AssetRepair", "AuditEntry", "AuthToken", "Balance", "Base", "Dispatch", "DispatchLine",
    "Distribution", "DistributionLine", "Document", "Household",
    "IdempotencyKey", "Incident", "ItemType", "ItemTypeAttribute", "LabelCode", "Lease", "LeaseExtension",
    "LeaseLine", "Location", "LoginFailure", "Lot", "MaintenancePlan",
    "Movement", "Plan", "PlanLine", "PlanProposal", "Region", "ReserveQuota", "RiskNeed", "RiskPoint", "Setting",
    "Stocktake", "StocktakeLine", "StocktakeUpload", "SupplyRequest", "SupplyRequestAnswer", "SupplyRequestAnswerLine",
    "SupplyRequestLine", "UTCDateTime",
    "User", "WriteOffLine", "WriteOffRequest", "utcnow",
]
