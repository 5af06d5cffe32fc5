"""The controlled vocabulary of probable causes (ITU-T X.733/M.3100, as IANA-ITU-ALARM-TC)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

UNKNOWN = "unknown"
"""What an alert whose cause maps to nothing in the vocabulary is published with."""

PROBABLE_CAUSES: frozenset[str] = frozenset({  # the names of RFC 3877's IANA-ITU-ALARM-TC
    "other", UNKNOWN,
    # communications (X.733)
    "aIS", "callSetUpFailure", "degradedSignal", "farEndReceiverFailure", "framingError",
    "lossOfFrame", "lossOfPointer", "lossOfSignal", "payloadTypeMismatch", "transmissionError",
    "remoteAlarmInterface", "excessiveBER", "pathTraceMismatch", "unavailable",
    "signalLabelMismatch", "lossOfMultiFrame", "receiveFailure", "transmitFailure",
    "modulationFailure", "demodulationFailure", "broadcastChannelFailure",
    "connectionEstablishmentError", "invalidMessageReceived", "localNodeTransmissionError",
    "remoteNodeTransmissionError", "routingFailure",
    # equipment
    "backplaneFailure", "dataSetProblem", "equipmentIdentifierDuplication",
    "externalDeviceProblem", "lineCardProblem", "multiplexerProblem", "nEIdentifierDuplication",
    "powerProblem", "processorProblem", "protectionPathFailure", "receiverFailure",
    "replaceableUnitMissing", "replaceableUnitTypeMismatch", "synchronizationSourceMismatch",
    "terminalProblem", "timingProblem", "transmitterFailure", "trunkCardProblem",
    "replaceableUnitProblem", "realTimeClockFailure", "antennaFailure", "diskFailure",
    "iODeviceError", "lossOfSynchronisation", "lossOfRedundancy", "powerSupplyFailure",
    "signalQualityEvaluationFailure", "tranceiverFailure", "protectionMechanismFailure",
    "protectingResourceFailure",
    # environment
    "airConditioningFailure", "batteryDischarging", "batteryFailure", "commercialPowerFailure",
    "coolingFanFailure", "fireDetectorFailure", "fuseFailure", "generatorFailure",
    "lowBatteryThreshold", "rectifierFailure", "enclosureDoorOpen", "fire", "flood",
    "highHumidity", "highTemperature", "intrusionDetection", "smoke", "coolingSystemFailure",
    "externalEquipmentFailure", "externalPointFailure",
    # processing
    "storageCapacityProblem", "memoryMismatch", "corruptData", "outOfCPUCycles",
    "sfwrEnvironmentProblem", "sfwrDownloadFailure", "applicationSubsystemFailure",
    "configurationOrCustomisationError", "databaseInconsistency", "fileError", "outOfMemory",
    "softwareError", "timeoutExpired", "underlayingResourceUnavailable", "versionMismatch",
    # quality of service
    "bandwidthReduced", "congestion", "excessiveErrorRate", "excessiveResponseTime",
    "excessiveRetransmissionRate", "reducedLoggingCapability", "systemResourcesOverload",
})  # fmt: skip

_BY_LOWER: Mapping[str, str] = MappingProxyType({c.lower(): c for c in PROBABLE_CAUSES})


def canonical_cause(value: str) -> str | None:
    """``value`` as the vocabulary spells it (``LOSSOFSIGNAL`` → ``lossOfSignal``), or None."""
    return _BY_LOWER.get(value.lower())
