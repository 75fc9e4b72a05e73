# ruff: noqa: N802, N805 - spyne methods carry the WSDL operation names and take (ctx, req)
"""The OCPP 1.5 CentralSystemService (station -> portal) as a spyne application.

The spyne service only translates SOAP <-> plain values; a *handler* implementing
`CentralSystemHandler` does the rest (ocpp_server/v15/operations.py): one method
per operation, `(CallContext, <Op>Req) -> <Op>Conf`, the request and response
types being TypedDicts keyed by the WSDL element names.

Request dicts hold every element of the WSDL type; absent optional elements are
None, repeated elements lists, `xs:dateTime` values timezone-aware UTC datetimes.
Response dicts may omit optional keys; naive datetimes are taken as UTC. Raise
`soap.OcppFaultError` for a specific SOAP Fault; any other exception becomes a
Receiver / InternalError fault.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired, Protocol, TypedDict

from spyne import MethodContext, ServiceBase, rpc

from ocpp_server.v15 import messages as m
from ocpp_server.v15.soap import (
    CS_NS,
    CallContext,
    OcppApplication,
    bare_style,
    dispatch,
)

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


# ----------------------------------------------------------------- spyne service


def _bare(operation: str) -> dict[str, Any]:
    return bare_style(CS_NS, operation)


class CentralSystemService(ServiceBase):  # type: ignore[misc]
    """Method names are the WSDL operation names (spyne's operation_name)."""

    @rpc(m.AuthorizeRequest, _returns=m.AuthorizeResponse, **_bare("Authorize"))
    def Authorize(ctx: MethodContext, req: m.AuthorizeRequest) -> Any:
        return dispatch(ctx, "Authorize", m.AuthorizeRequest, req, m.AuthorizeResponse)

    @rpc(
        m.BootNotificationRequest,
        _returns=m.BootNotificationResponse,
        **_bare("BootNotification"),
    )
    def BootNotification(ctx: MethodContext, req: m.BootNotificationRequest) -> Any:
        return dispatch(
            ctx,
            "BootNotification",
            m.BootNotificationRequest,
            req,
            m.BootNotificationResponse,
        )

    @rpc(
        m.DataTransferRequest, _returns=m.DataTransferResponse, **_bare("DataTransfer")
    )
    def DataTransfer(ctx: MethodContext, req: m.DataTransferRequest) -> Any:
        return dispatch(
            ctx, "DataTransfer", m.DataTransferRequest, req, m.DataTransferResponse
        )

    @rpc(
        m.DiagnosticsStatusNotificationRequest,
        _returns=m.DiagnosticsStatusNotificationResponse,
        **_bare("DiagnosticsStatusNotification"),
    )
    def DiagnosticsStatusNotification(
        ctx: MethodContext, req: m.DiagnosticsStatusNotificationRequest
    ) -> Any:
        return dispatch(
            ctx,
            "DiagnosticsStatusNotification",
            m.DiagnosticsStatusNotificationRequest,
            req,
            m.DiagnosticsStatusNotificationResponse,
        )

    @rpc(
        m.FirmwareStatusNotificationRequest,
        _returns=m.FirmwareStatusNotificationResponse,
        **_bare("FirmwareStatusNotification"),
    )
    def FirmwareStatusNotification(
        ctx: MethodContext, req: m.FirmwareStatusNotificationRequest
    ) -> Any:
        return dispatch(
            ctx,
            "FirmwareStatusNotification",
            m.FirmwareStatusNotificationRequest,
            req,
            m.FirmwareStatusNotificationResponse,
        )

    # HeartbeatRequest is an empty type: spyne's bare style refuses an empty
    # model as argument, so the method takes no argument at all (spyne then
    # produces an empty ``heartbeatRequest`` element type by itself).
    @rpc(_returns=m.HeartbeatResponse, **_bare("Heartbeat"))
    def Heartbeat(ctx: MethodContext) -> Any:
        return dispatch(ctx, "Heartbeat", None, None, m.HeartbeatResponse)

    @rpc(m.MeterValuesRequest, _returns=m.MeterValuesResponse, **_bare("MeterValues"))
    def MeterValues(ctx: MethodContext, req: m.MeterValuesRequest) -> Any:
        return dispatch(
            ctx, "MeterValues", m.MeterValuesRequest, req, m.MeterValuesResponse
        )

    @rpc(
        m.StartTransactionRequest,
        _returns=m.StartTransactionResponse,
        **_bare("StartTransaction"),
    )
    def StartTransaction(ctx: MethodContext, req: m.StartTransactionRequest) -> Any:
        return dispatch(
            ctx,
            "StartTransaction",
            m.StartTransactionRequest,
            req,
            m.StartTransactionResponse,
        )

    @rpc(
        m.StatusNotificationRequest,
        _returns=m.StatusNotificationResponse,
        **_bare("StatusNotification"),
    )
    def StatusNotification(ctx: MethodContext, req: m.StatusNotificationRequest) -> Any:
        return dispatch(
            ctx,
            "StatusNotification",
            m.StatusNotificationRequest,
            req,
            m.StatusNotificationResponse,
        )

    @rpc(
        m.StopTransactionRequest,
        _returns=m.StopTransactionResponse,
        **_bare("StopTransaction"),
    )
    def StopTransaction(ctx: MethodContext, req: m.StopTransactionRequest) -> Any:
        return dispatch(
            ctx,
            "StopTransaction",
            m.StopTransactionRequest,
            req,
            m.StopTransactionResponse,
        )


OPERATIONS: tuple[str, ...] = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
)


def create_application(handler: CentralSystemHandler) -> OcppApplication:
    """Build the spyne application serving the CentralSystemService with `handler`."""
    return OcppApplication(
        [CentralSystemService],
        tns=CS_NS,
        name="CentralSystemService",
        handler=handler,
    )
