"""spyne models mirroring the types of OCPP_CentralSystemService_1.5_final.wsdl.

Same order as the WSDL. Element names, order, minOccurs/maxOccurs, string length
limits and enumerations are reproduced exactly; tests/ocpp_server/v15/
test_schema_mirror.py checks that spyne's generated XSD is structurally identical
to the official one. Deviations spyne cannot express (type *names* only, not the
wire format):

* `MeterValue/value` has an anonymous complexType in the WSDL; spyne needs a
  name, so it is `MeterValue_value`.
* `heartbeatRequest` is bound to spyne's own empty type named `heartbeatRequest`
  (bare body style cannot take an empty model as argument).
"""

from __future__ import annotations

from spyne import (
    ComplexModel,
    DateTime,
    Integer32,
    Unicode,
    XmlAttribute,
    XmlData,
)

from ocpp_server.v15.models import optional, repeated, required, simple_string
from ocpp_server.v15.wsdl import CS_NS

NS = CS_NS

# ---- types shared with ChargePointService
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


# ---- CentralSystemService-only simple types
ChargeBoxSerialNumber = simple_string("ChargeBoxSerialNumber", NS, max_len=25)
ChargePointModel = simple_string("ChargePointModel", NS, max_len=20)
ChargePointSerialNumber = simple_string("ChargePointSerialNumber", NS, max_len=25)
ChargePointVendor = simple_string("ChargePointVendor", NS, max_len=20)
FirmwareVersion = simple_string("FirmwareVersion", NS, max_len=50)
IccidString = simple_string("IccidString", NS, max_len=20)
ImsiString = simple_string("ImsiString", NS, max_len=20)
MeterSerialNumber = simple_string("MeterSerialNumber", NS, max_len=25)
MeterType = simple_string("MeterType", NS, max_len=25)


class AuthorizeRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("idTag", required(IdToken))]


class AuthorizeResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("idTagInfo", required(IdTagInfo))]


class StartTransactionRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("connectorId", required(Integer32)),
        ("idTag", required(IdToken)),
        ("timestamp", required(DateTime)),
        ("meterStart", required(Integer32)),
        ("reservationId", optional(Integer32)),
    ]


class StartTransactionResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("transactionId", required(Integer32)),
        ("idTagInfo", required(IdTagInfo)),
    ]


ReadingContext = simple_string(
    "ReadingContext",
    NS,
    values=[
        "Interruption.Begin",
        "Interruption.End",
        "Sample.Clock",
        "Sample.Periodic",
        "Transaction.Begin",
        "Transaction.End",
    ],
)
Measurand = simple_string(
    "Measurand",
    NS,
    values=[
        "Energy.Active.Export.Register",
        "Energy.Active.Import.Register",
        "Energy.Reactive.Export.Register",
        "Energy.Reactive.Import.Register",
        "Energy.Active.Export.Interval",
        "Energy.Active.Import.Interval",
        "Energy.Reactive.Export.Interval",
        "Energy.Reactive.Import.Interval",
        "Power.Active.Export",
        "Power.Active.Import",
        "Power.Reactive.Export",
        "Power.Reactive.Import",
        "Current.Export",
        "Current.Import",
        "Voltage",
        "Temperature",
    ],
)
ValueFormat = simple_string("ValueFormat", NS, values=["Raw", "SignedData"])
UnitOfMeasure = simple_string(
    "UnitOfMeasure",
    NS,
    values=[
        "Wh",
        "kWh",
        "varh",
        "kvarh",
        "W",
        "kW",
        "var",
        "kvar",
        "Amp",
        "Volt",
        "Celsius",
    ],
)
Location = simple_string("Location", NS, values=["Inlet", "Outlet", "Body"])


class MeterValueValue(ComplexModel):  # type: ignore[misc]
    """Anonymous ``<value>`` type: string content plus optional attributes."""

    __namespace__ = NS
    __type_name__ = "MeterValue_value"
    _type_info = [
        ("value", XmlData(Unicode)),
        ("context", XmlAttribute(ReadingContext)),
        ("format", XmlAttribute(ValueFormat)),
        ("measurand", XmlAttribute(Measurand)),
        ("location", XmlAttribute(Location)),
        ("unit", XmlAttribute(UnitOfMeasure)),
    ]


class MeterValue(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("timestamp", required(DateTime)),
        ("value", repeated(MeterValueValue, min_occurs=1)),
    ]


class TransactionData(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("values", repeated(MeterValue))]


class StopTransactionRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("transactionId", required(Integer32)),
        ("idTag", optional(IdToken)),
        ("timestamp", required(DateTime)),
        ("meterStop", required(Integer32)),
        ("transactionData", repeated(TransactionData)),
    ]


class StopTransactionResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("idTagInfo", optional(IdTagInfo))]


class HeartbeatResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("currentTime", required(DateTime))]


class MeterValuesRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("connectorId", required(Integer32)),
        ("transactionId", optional(Integer32)),
        ("values", repeated(MeterValue)),
    ]


class MeterValuesResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info: list[tuple[str, object]] = []


class BootNotificationRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("chargePointVendor", required(ChargePointVendor)),
        ("chargePointModel", required(ChargePointModel)),
        ("chargePointSerialNumber", optional(ChargePointSerialNumber)),
        ("chargeBoxSerialNumber", optional(ChargeBoxSerialNumber)),
        ("firmwareVersion", optional(FirmwareVersion)),
        ("iccid", optional(IccidString)),
        ("imsi", optional(ImsiString)),
        ("meterType", optional(MeterType)),
        ("meterSerialNumber", optional(MeterSerialNumber)),
    ]


RegistrationStatus = simple_string(
    "RegistrationStatus", NS, values=["Accepted", "Rejected"]
)


class BootNotificationResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("status", required(RegistrationStatus)),
        ("currentTime", required(DateTime)),
        ("heartbeatInterval", required(Integer32)),
    ]


ChargePointErrorCode = simple_string(
    "ChargePointErrorCode",
    NS,
    values=[
        "ConnectorLockFailure",
        "HighTemperature",
        "Mode3Error",
        "NoError",
        "PowerMeterFailure",
        "PowerSwitchFailure",
        "ReaderFailure",
        "ResetFailure",
        "GroundFailure",
        "OverCurrentFailure",
        "UnderVoltage",
        "WeakSignal",
        "OtherError",
    ],
)
ChargePointStatus = simple_string(
    "ChargePointStatus",
    NS,
    values=["Available", "Occupied", "Faulted", "Unavailable", "Reserved"],
)


class StatusNotificationRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [
        ("connectorId", required(Integer32)),
        ("status", required(ChargePointStatus)),
        ("errorCode", required(ChargePointErrorCode)),
        ("info", optional(Unicode)),
        ("timestamp", optional(DateTime)),
        ("vendorId", optional(Unicode)),
        ("vendorErrorCode", optional(Unicode)),
    ]


class StatusNotificationResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info: list[tuple[str, object]] = []


FirmwareStatus = simple_string(
    "FirmwareStatus",
    NS,
    values=["Downloaded", "DownloadFailed", "InstallationFailed", "Installed"],
)


class FirmwareStatusNotificationRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(FirmwareStatus))]


class FirmwareStatusNotificationResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info: list[tuple[str, object]] = []


DiagnosticsStatus = simple_string(
    "DiagnosticsStatus", NS, values=["Uploaded", "UploadFailed"]
)


class DiagnosticsStatusNotificationRequest(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info = [("status", required(DiagnosticsStatus))]


class DiagnosticsStatusNotificationResponse(ComplexModel):  # type: ignore[misc]
    __namespace__ = NS
    _type_info: list[tuple[str, object]] = []


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
