"""spyne models mirroring the types of OCPP_ChargePointService_1.5_final.wsdl.

Used by the simulated charge point (the portal itself talks to stations with zeep
straight from the WSDL). Same conventions as ocpp_server/v15/messages.py; spyne
cannot express the empty request types ClearCacheRequest and
GetLocalListVersionRequest as bare arguments, so those operations take no
argument and spyne names the (empty) element types after the elements.
"""

from __future__ import annotations

from spyne import AnyUri, Boolean, ComplexModel, DateTime, Integer32, Unicode

from ocpp_server.v15.models import optional, repeated, required, simple_string
from ocpp_server.v15.wsdl import CP_NS

NS = CP_NS

# ---- types shared with CentralSystemService
IdToken = simple_string("IdToken", NS, max_len=20)
AuthorizationStatus = simple_string(
    "AuthorizationStatus",
    NS,
    values=["Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"],
)


class IdTagInfo(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("status", required(AuthorizationStatus)),
        ("expiryDate", optional(DateTime)),
        ("parentIdTag", optional(IdToken)),
    ]


UnlockStatus = simple_string("UnlockStatus", NS, values=["Accepted", "Rejected"])


class UnlockConnectorRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("connectorId", required(Integer32))]


class UnlockConnectorResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(UnlockStatus))]


ResetType = simple_string("ResetType", NS, values=["Hard", "Soft"])


class ResetRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("type", required(ResetType))]


ResetStatus = simple_string("ResetStatus", NS, values=["Accepted", "Rejected"])


class ResetResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(ResetStatus))]


AvailabilityType = simple_string(
    "AvailabilityType", NS, values=["Inoperative", "Operative"]
)


class ChangeAvailabilityRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("connectorId", required(Integer32)),
        ("type", required(AvailabilityType)),
    ]


AvailabilityStatus = simple_string(
    "AvailabilityStatus", NS, values=["Accepted", "Rejected", "Scheduled"]
)


class ChangeAvailabilityResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(AvailabilityStatus))]


class GetDiagnosticsRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("location", required(AnyUri)),
        ("startTime", optional(DateTime)),
        ("stopTime", optional(DateTime)),
        ("retries", optional(Integer32)),
        ("retryInterval", optional(Integer32)),
    ]


class GetDiagnosticsResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("fileName", optional(Unicode))]


ClearCacheStatus = simple_string(
    "ClearCacheStatus", NS, values=["Accepted", "Rejected"]
)


class ClearCacheResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(ClearCacheStatus))]


class UpdateFirmwareRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("retrieveDate", required(DateTime)),
        ("location", required(AnyUri)),
        ("retries", optional(Integer32)),
        ("retryInterval", optional(Integer32)),
    ]


class UpdateFirmwareResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info: list[tuple[str, object]] = []


class ChangeConfigurationRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("key", required(Unicode)),
        ("value", required(Unicode)),
    ]


ConfigurationStatus = simple_string(
    "ConfigurationStatus", NS, values=["Accepted", "Rejected", "NotSupported"]
)


class ChangeConfigurationResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(ConfigurationStatus))]


class RemoteStartTransactionRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("idTag", required(IdToken)),
        ("connectorId", optional(Integer32)),
    ]


RemoteStartStopStatus = simple_string(
    "RemoteStartStopStatus", NS, values=["Accepted", "Rejected"]
)


class RemoteStartTransactionResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(RemoteStartStopStatus))]


class RemoteStopTransactionRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("transactionId", required(Integer32))]


class RemoteStopTransactionResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(RemoteStartStopStatus))]


class CancelReservationRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("reservationId", required(Integer32))]


CancelReservationStatus = simple_string(
    "CancelReservationStatus", NS, values=["Accepted", "Rejected"]
)


class CancelReservationResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(CancelReservationStatus))]


class DataTransferRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("vendorId", required(Unicode)),
        ("messageId", optional(Unicode)),
        ("data", optional(Unicode)),
    ]


DataTransferStatus = simple_string(
    "DataTransferStatus",
    NS,
    values=["Accepted", "Rejected", "UnknownMessageId", "UnknownVendorId"],
)


class DataTransferResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("status", required(DataTransferStatus)),
        ("data", optional(Unicode)),
    ]


class GetConfigurationRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("key", repeated(Unicode))]


class KeyValue(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("key", required(Unicode)),
        ("readonly", required(Boolean)),
        ("value", optional(Unicode)),
    ]


class GetConfigurationResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("configurationKey", repeated(KeyValue)),
        ("unknownKey", repeated(Unicode)),
    ]


class GetLocalListVersionResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("listVersion", required(Integer32))]


class ReserveNowRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("connectorId", required(Integer32)),
        ("expiryDate", required(DateTime)),
        ("idTag", required(IdToken)),
        ("parentIdTag", optional(IdToken)),
        ("reservationId", required(Integer32)),
    ]


ReservationStatus = simple_string(
    "ReservationStatus",
    NS,
    values=["Accepted", "Faulted", "Occupied", "Rejected", "Unavailable"],
)


class ReserveNowResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(ReservationStatus))]


class AuthorisationData(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("idTag", required(IdToken)),
        ("idTagInfo", optional(IdTagInfo)),
    ]


UpdateType = simple_string("UpdateType", NS, values=["Differential", "Full"])


class SendLocalListRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("updateType", required(UpdateType)),
        ("listVersion", required(Integer32)),
        ("localAuthorisationList", repeated(AuthorisationData)),
        ("hash", optional(Unicode)),
    ]


UpdateStatus = simple_string(
    "UpdateStatus",
    NS,
    values=["Accepted", "Failed", "HashError", "NotSupported", "VersionMismatch"],
)


class SendLocalListResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("status", required(UpdateStatus)),
        ("hash", optional(Unicode)),
    ]
