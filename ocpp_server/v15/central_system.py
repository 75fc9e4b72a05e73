"""The OCPP 1.5 CentralSystemService (station -> portal) as a spyne application.

The operations are declared once, in `TABLE` (operation -> request/response
models -> handler method); the spyne methods are made from it. The spyne service
only translates SOAP <-> plain values; a *handler* implementing
`CentralSystemHandler` does the rest (ocpp_server/v15/operations.py): one method
per operation, `(CallContext, <Op>Req) -> <Op>Conf`, the request and response
types being TypedDicts keyed by the WSDL element names.

Request dicts hold every element of the WSDL type; absent optional elements are
None, repeated elements lists, `xs:dateTime` values timezone-aware UTC datetimes.
Response dicts may omit optional keys; naive datetimes are taken as UTC. Raise
`faults.OcppFaultError` for a specific SOAP Fault; any other exception becomes a
Receiver / InternalError fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NotRequired, Protocol, TypedDict

from spyne import ComplexModelBase, MethodContext, ServiceBase, rpc

from ocpp_server.v15 import messages as m
from ocpp_server.v15.dispatch import OcppApplication, bare_style, dispatch
from ocpp_server.v15.headers import CallContext
from ocpp_server.v15.wsdl import CS_NS

# ----------------------------------------------------------------- plain value types

AuthorizationStatus = Literal[
    "Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"
]
RegistrationStatus = Literal["Accepted", "Rejected"]
DataTransferStatus = Literal[
    "Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId"
]
ChargePointStatus = Literal[
    "Available", "Occupied", "Faulted", "Unavailable", "Reserved"
]
FirmwareStatus = Literal[
    "Downloaded", "DownloadFailed", "InstallationFailed", "Installed"
]
DiagnosticsStatus = Literal["Uploaded", "UploadFailed"]


class IdTagInfo(TypedDict):
    status: AuthorizationStatus
    expiryDate: NotRequired[datetime | None]
    parentIdTag: NotRequired[str | None]


class SampledValue(TypedDict):
    """``MeterValue/value``: the reading as text plus its optional attributes."""

    value: str
    context: str | None
    format: str | None
    measurand: str | None
    location: str | None
    unit: str | None


class MeterValue(TypedDict):
    timestamp: datetime
    value: list[SampledValue]


class TransactionData(TypedDict):
    values: list[MeterValue]


class AuthorizeReq(TypedDict):
    idTag: str


class AuthorizeConf(TypedDict):
    idTagInfo: IdTagInfo


class StartTransactionReq(TypedDict):
    connectorId: int
    idTag: str
    timestamp: datetime
    meterStart: int
    reservationId: int | None


class StartTransactionConf(TypedDict):
    transactionId: int
    idTagInfo: IdTagInfo


class StopTransactionReq(TypedDict):
    transactionId: int
    idTag: str | None
    timestamp: datetime
    meterStop: int
    transactionData: list[TransactionData]


class StopTransactionConf(TypedDict):
    idTagInfo: NotRequired[IdTagInfo | None]


class HeartbeatReq(TypedDict):
    pass


class HeartbeatConf(TypedDict):
    currentTime: datetime


class MeterValuesReq(TypedDict):
    connectorId: int
    transactionId: int | None
    values: list[MeterValue]


class BootNotificationReq(TypedDict):
    chargePointVendor: str
    chargePointModel: str
    chargePointSerialNumber: str | None
    chargeBoxSerialNumber: str | None
    firmwareVersion: str | None
    iccid: str | None
    imsi: str | None
    meterType: str | None
    meterSerialNumber: str | None


class BootNotificationConf(TypedDict):
    status: RegistrationStatus
    currentTime: datetime
    heartbeatInterval: int


class StatusNotificationReq(TypedDict):
    connectorId: int
    status: ChargePointStatus
    errorCode: str
    info: str | None
    timestamp: datetime | None
    vendorId: str | None
    vendorErrorCode: str | None


class FirmwareStatusNotificationReq(TypedDict):
    status: FirmwareStatus


class DiagnosticsStatusNotificationReq(TypedDict):
    status: DiagnosticsStatus


class DataTransferReq(TypedDict):
    vendorId: str
    messageId: str | None
    data: str | None


class DataTransferConf(TypedDict):
    status: DataTransferStatus
    data: NotRequired[str | None]


class EmptyConf(TypedDict):
    """MeterValues/StatusNotification/FirmwareStatusNotification/DiagnosticsStatusNotification.conf"""


# ----------------------------------------------------------------- handler protocol


class CentralSystemHandler(Protocol):
    def authorize(self, ctx: CallContext, req: AuthorizeReq) -> AuthorizeConf: ...

    def boot_notification(
        self, ctx: CallContext, req: BootNotificationReq
    ) -> BootNotificationConf: ...

    def data_transfer(
        self, ctx: CallContext, req: DataTransferReq
    ) -> DataTransferConf: ...

    def diagnostics_status_notification(
        self, ctx: CallContext, req: DiagnosticsStatusNotificationReq
    ) -> EmptyConf: ...

    def firmware_status_notification(
        self, ctx: CallContext, req: FirmwareStatusNotificationReq
    ) -> EmptyConf: ...

    def heartbeat(self, ctx: CallContext, req: HeartbeatReq) -> HeartbeatConf: ...

    def meter_values(self, ctx: CallContext, req: MeterValuesReq) -> EmptyConf: ...

    def start_transaction(
        self, ctx: CallContext, req: StartTransactionReq
    ) -> StartTransactionConf: ...

    def status_notification(
        self, ctx: CallContext, req: StatusNotificationReq
    ) -> EmptyConf: ...

    def stop_transaction(
        self, ctx: CallContext, req: StopTransactionReq
    ) -> StopTransactionConf: ...


# ----------------------------------------------------------------- operations


@dataclass(frozen=True)
class Operation:
    """One WSDL operation of the CentralSystemService and who answers it."""

    name: str  #: the WSDL operation name, also the spyne method's name
    #: the request's spyne model; None for an empty request type (Heartbeat)
    request: type[ComplexModelBase] | None
    response: type[ComplexModelBase]
    #: the CentralSystemHandler method: (CallContext, <Op>Req) -> <Op>Conf
    handler: str


#: Every operation, once: operation -> request/response types -> handler method.
TABLE: tuple[Operation, ...] = (
    Operation("Authorize", m.AuthorizeRequest, m.AuthorizeResponse, "authorize"),
    Operation(
        "BootNotification",
        m.BootNotificationRequest,
        m.BootNotificationResponse,
        "boot_notification",
    ),
    Operation(
        "DataTransfer", m.DataTransferRequest, m.DataTransferResponse, "data_transfer"
    ),
    Operation(
        "DiagnosticsStatusNotification",
        m.DiagnosticsStatusNotificationRequest,
        m.DiagnosticsStatusNotificationResponse,
        "diagnostics_status_notification",
    ),
    Operation(
        "FirmwareStatusNotification",
        m.FirmwareStatusNotificationRequest,
        m.FirmwareStatusNotificationResponse,
        "firmware_status_notification",
    ),
    # HeartbeatRequest is an empty type: spyne's bare style refuses an empty
    # model as argument, so the method takes no argument at all (spyne then
    # produces an empty ``heartbeatRequest`` element type by itself).
    Operation("Heartbeat", None, m.HeartbeatResponse, "heartbeat"),
    Operation(
        "MeterValues", m.MeterValuesRequest, m.MeterValuesResponse, "meter_values"
    ),
    Operation(
        "StartTransaction",
        m.StartTransactionRequest,
        m.StartTransactionResponse,
        "start_transaction",
    ),
    Operation(
        "StatusNotification",
        m.StatusNotificationRequest,
        m.StatusNotificationResponse,
        "status_notification",
    ),
    Operation(
        "StopTransaction",
        m.StopTransactionRequest,
        m.StopTransactionResponse,
        "stop_transaction",
    ),
)

OPERATIONS: tuple[str, ...] = tuple(op.name for op in TABLE)


# ----------------------------------------------------------------- spyne service


def _spyne_method(op: Operation) -> Any:
    """The ``@rpc`` method of ``op``: the request to ``dispatch``, its answer back."""
    style = bare_style(CS_NS, op.name)
    if op.request is None:

        def method_without_request(ctx: MethodContext) -> Any:
            return dispatch(ctx, op.name, None, None, op.response, op.handler)

        method_without_request.__name__ = op.name
        return rpc(_returns=op.response, **style)(method_without_request)

    request = op.request

    def method(ctx: MethodContext, req: ComplexModelBase) -> Any:
        return dispatch(ctx, op.name, request, req, op.response, op.handler)

    method.__name__ = op.name
    return rpc(request, _returns=op.response, **style)(method)


#: the spyne service; method names are the WSDL operation names
CentralSystemService: type[ServiceBase] = type(
    "CentralSystemService",
    (ServiceBase,),
    {"__module__": __name__, **{op.name: _spyne_method(op) for op in TABLE}},
)


def create_application(handler: CentralSystemHandler) -> OcppApplication:
    """Build the spyne application serving the CentralSystemService with `handler`."""
    return OcppApplication(
        [CentralSystemService],
        tns=CS_NS,
        name="CentralSystemService",
        handler=handler,
    )
