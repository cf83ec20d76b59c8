"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from api.audit_trail import AuditFailuresMiddleware, audit_routing_refusal
from api.auth import TokenAuthMiddleware, permission_guard
from api.controllers.agreements import AgreementController
from api.controllers.alerts import AlertController
from api.controllers.assets import AssetController
from api.controllers.audit import AuditController
from api.controllers.auth import AuthController
from api.controllers.availability import AvailabilityController
from api.controllers.health import health, ready
from api.controllers.incidents import DispatchController, IncidentController
from api.controllers.item_types import ItemTypeController
from api.controllers.labels import LabelController
from api.controllers.leases import LeaseController
from api.controllers.ledger import LedgerController, StockController, TransferController
from api.controllers.locations import LocationController
from api.controllers.lots import LotController
from api.controllers.plan_proposals import PlanProposalController
from api.controllers.plans import PlanController
from api.controllers.quotas import QuotaController
from api.controllers.readiness import ReadinessController
from api.controllers.regions import RegionController
from api.controllers.relief import ReliefController
from api.controllers.reports import ReportController
from api.controllers.risk_points import RiskPointController
from api.controllers.scan import ScanController
from api.controllers.stocktakes import ImportController, StocktakeController
from api.controllers.supply_requests import SupplyRequestController
from api.controllers.users import UserController
from api.controllers.write_offs import WriteOffController
from api.csrf import CSRFMiddleware
from api.deps import DEPENDENCIES
from api.errors import EXCEPTION_HANDLERS
from api.headers import add_security_headers, complete_allow_header
from api.openapi import ProblemJsonRenderPlugin, document_problems
from api.pages import PAGE_HANDLERS
from api.path_ids import refuse_loose_ids
from inventory.access.token_listener import TokenChangeListener
from inventory.alerts.config import load_alert_config
from inventory.alerts.runner import alert_timer
from inventory.availability.eta import load_eta_config
from inventory.config import Settings, load_settings
from inventory.plans.proposal_jobs import ProposalRunner
from inventory.store.db import Database

HERE = Path(__file__).parent
PUBLIC_STATIC = {"action": "public", "exclude_from_auth": True}
ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    health, ready, AuthController, UserController, AuditController, RegionController, LocationController,
    ItemTypeController, AssetController, LedgerController, TransferController, StockController, ScanController,
    LabelController, IncidentController, DispatchController, StocktakeController, ImportController,
    AvailabilityController, LotController,
    WriteOffController, ReportController, LeaseController, AgreementController, QuotaController,
    ReadinessController, AlertController, PlanProposalController, PlanController, RiskPointController,
    ReliefController, SupplyRequestController,
    *PAGE_HANDLERS,
    create_static_files_router(path="/static", directories=[HERE / "static"], opt=PUBLIC_STATIC,
                               include_in_schema=False),
]
# Paths that need no token: liveness, readiness, the API description, static files. Pages opt out
# per route (they use the session cookie and send people to the sign-in page instead of a 401).
UNAUTHENTICATED = ["^/health$", "^/ready$", "^/schema", "^/static/"]


def create_app(settings: Settings | None = None, db: Database | None = None, *,
               background_alerts: bool = False) -> Litestar:
    """Build the application for these settings (and an existing database, in tests).

    ``background_alerts`` (``serve``) computes and delivers alerts on a timer while the app runs.
    """
    settings = settings or load_settings()
    database = db or Database(settings.database_url)
    proposal_jobs = ProposalRunner(database)  # optimiser runs: cancelled (marked failed) on shutdown
    token_changes = TokenChangeListener(database)  # PostgreSQL: revocations made by any process empty the token cache

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if db is None:
                await database.dispose()

    app = Litestar(
        route_handlers=ROUTE_HANDLERS,
        dependencies=DEPENDENCIES,
        before_request=refuse_loose_ids,
        before_send=[add_security_headers, complete_allow_header],
        after_exception=[audit_routing_refusal],
        middleware=[
            AuditFailuresMiddleware,
            CSRFMiddleware,  # the pages' forms (api.csrf); the API takes bearer tokens only
            DefineMiddleware(TokenAuthMiddleware, exclude=UNAUTHENTICATED),
        ],
        guards=[permission_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan, proposal_jobs.running, token_changes.running,
                  *([lambda app: alert_timer(database, load_alert_config(), settings.public_url)]
                    if background_alerts else [])],
        state=State({"db": database, "settings": settings, "eta": load_eta_config(),
                     "proposal_jobs": proposal_jobs, "token_changes": token_changes}),
        openapi_config=OpenAPIConfig(
            title="应急物资装备管理 Emergency Inventory API", version="1.0.0", path="/schema",
            render_plugins=[ProblemJsonRenderPlugin()],
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            security=[{"bearer": []}],
        ),
        # Pages, JSON and the county GeoJSON are sent gzipped to clients that ask (a 4G phone, an intranet over a
        # thin line); workbooks, label sheets and images are compressed already and are left alone.
        compression_config=CompressionConfig(backend="gzip", minimum_size=1000, gzip_compress_level=6,
                                             exclude=[r"\.xlsx$", r"\.png$", r"\.pdf$", r"/labels/sheets$"]),
        cors_config=CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None,
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
    )
    document_problems(app)
    return app
