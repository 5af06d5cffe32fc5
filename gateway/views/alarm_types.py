"""X.733 event types of the probable causes, as TMF642 names them in ``alarmType``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# the groups of gateway/model/x733.py (RFC 3877's IANA-ITU-ALARM-TC), by X.733 event type;
# "other" and "unknown" name no type, and an alarm with them gets no alarmType
_GROUPS: dict[str, tuple[str, ...]] = {
    "communicationsAlarm": (
        "aIS", "callSetUpFailure", "degradedSignal", "farEndReceiverFailure", "framingError",
        "lossOfFrame", "lossOfPointer", "lossOfSignal", "payloadTypeMismatch",
        "transmissionError", "remoteAlarmInterface", "excessiveBER", "pathTraceMismatch",
        "unavailable", "signalLabelMismatch", "lossOfMultiFrame", "receiveFailure",
        "transmitFailure", "modulationFailure", "demodulationFailure",
        "broadcastChannelFailure", "connectionEstablishmentError", "invalidMessageReceived",
        "localNodeTransmissionError", "remoteNodeTransmissionError", "routingFailure",
    ),
    "equipmentAlarm": (
        "backplaneFailure", "dataSetProblem", "equipmentIdentifierDuplication",
        "externalDeviceProblem", "lineCardProblem", "multiplexerProblem",
        "nEIdentifierDuplication", "powerProblem", "processorProblem",
        "protectionPathFailure", "receiverFailure", "replaceableUnitMissing",
        "replaceableUnitTypeMismatch", "synchronizationSourceMismatch", "terminalProblem",
        "timingProblem", "transmitterFailure", "trunkCardProblem", "replaceableUnitProblem",
        "realTimeClockFailure", "antennaFailure", "diskFailure", "iODeviceError",
        "lossOfSynchronisation", "lossOfRedundancy", "powerSupplyFailure",
        "signalQualityEvaluationFailure", "tranceiverFailure", "protectionMechanismFailure",
        "protectingResourceFailure",
    ),
    "environmentalAlarm": (
        "airConditioningFailure", "batteryDischarging", "batteryFailure",
        "commercialPowerFailure", "coolingFanFailure", "fireDetectorFailure", "fuseFailure",
        "generatorFailure", "lowBatteryThreshold", "rectifierFailure", "enclosureDoorOpen",
        "fire", "flood", "highHumidity", "highTemperature", "intrusionDetection", "smoke",
        "coolingSystemFailure", "externalEquipmentFailure", "externalPointFailure",
    ),
    "processingErrorAlarm": (
        "storageCapacityProblem", "memoryMismatch", "corruptData", "outOfCPUCycles",
        "sfwrEnvironmentProblem", "sfwrDownloadFailure", "applicationSubsystemFailure",
        "configurationOrCustomisationError", "databaseInconsistency", "fileError",
        "outOfMemory", "softwareError", "timeoutExpired", "underlayingResourceUnavailable",
        "versionMismatch",
    ),
    "qualityOfServiceAlarm": (
        "bandwidthReduced", "congestion", "excessiveErrorRate", "excessiveResponseTime",
        "excessiveRetransmissionRate", "reducedLoggingCapability", "systemResourcesOverload",
    ),
}  # fmt: skip

ALARM_TYPES: Mapping[str, str] = MappingProxyType(
    {cause: kind for kind, causes in _GROUPS.items() for cause in causes}
)
"""Probable cause (as published) → TMF642 ``alarmType``."""

TYPE_NAMES: tuple[str, ...] = tuple(_GROUPS)


def alarm_type(probable_cause: object) -> str | None:
    """The X.733 event type of a published probable cause; None for one outside the groups."""
    return ALARM_TYPES.get(probable_cause) if isinstance(probable_cause, str) else None
