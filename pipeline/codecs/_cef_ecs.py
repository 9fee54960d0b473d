"""The ECS field of each CEF field name in ecs_compatibility v1/v8 mode (Logstash's cef codec 6.x docs,
"Extension field mapping"). ``{device}`` is ``observer`` or ``host`` (the ``device`` option)."""

from __future__ import annotations

HEADER = {
    "cefVersion": "[cef][version]", "deviceVendor": "[observer][vendor]", "deviceProduct": "[observer][product]",
    "deviceVersion": "[observer][version]", "deviceEventClassId": "[event][code]", "name": "[cef][name]",
    "severity": "[event][severity]",
}
SYSLOG_HEADER = "[log][syslog][header]"
# CEF fields holding times: parsed to timestamps in ECS mode.
TIMESTAMPS = {"agentReceiptTime", "deviceReceiptTime", "endTime", "fileModificationTime", "managerReceiptTime",
              "oldFileCreateTime", "oldFileModificationTime", "startTime"}

_CUSTOM = {
    "deviceCustomFloatingPoint": ("device_custom_floating_point", 4), "deviceCustomIPv6Address":
    ("device_custom_ipv6_address", 4), "deviceCustomNumber": ("device_custom_number", 3),
    "deviceCustomString": ("device_custom_string", 6),
}

EXTENSIONS: dict[str, str] = {
    "agentAddress": "[agent][ip]", "agentDnsDomain": "[cef][agent][registered_domain]",
    "agentHostName": "[agent][name]", "agentId": "[agent][id]", "agentMacAddress": "[agent][mac]",
    "agentNtDomain": "[cef][agent][registered_domain]", "agentReceiptTime": "[event][created]",
    "agentTimeZone": "[cef][agent][timezone]", "agentTranslatedAddress": "[cef][agent][nat][ip]",
    "agentTranslatedZoneExternalID": "[cef][agent][translated_zone][external_id]",
    "agentTranslatedZoneURI": "[cef][agent][translated_zone][uri]", "agentType": "[agent][type]",
    "agentVersion": "[agent][version]", "agentZoneExternalID": "[cef][agent][zone][external_id]",
    "agentZoneURI": "[cef][agent][zone][uri]", "applicationProtocol": "[network][protocol]",
    "baseEventCount": "[cef][base_event_count]", "bytesIn": "[source][bytes]", "bytesOut": "[destination][bytes]",
    "categoryDeviceType": "[cef][device_type]", "customerExternalID": "[organization][id]",
    "customerURI": "[organization][name]", "destinationAddress": "[destination][ip]",
    "destinationDnsDomain": "[destination][registered_domain]",
    "destinationGeoLatitude": "[destination][geo][location][lat]",
    "destinationGeoLongitude": "[destination][geo][location][lon]", "destinationHostName": "[destination][domain]",
    "destinationMacAddress": "[destination][mac]", "destinationNtDomain": "[destination][registered_domain]",
    "destinationPort": "[destination][port]", "destinationProcessId": "[destination][process][pid]",
    "destinationProcessName": "[destination][process][name]",
    "destinationServiceName": "[destination][service][name]", "destinationTranslatedAddress":
    "[destination][nat][ip]", "destinationTranslatedPort": "[destination][nat][port]",
    "destinationTranslatedZoneExternalID": "[cef][destination][translated_zone][external_id]",
    "destinationTranslatedZoneURI": "[cef][destination][translated_zone][uri]",
    "destinationUserId": "[destination][user][id]", "destinationUserName": "[destination][user][name]",
    "destinationUserPrivileges": "[destination][user][group][name]",
    "destinationZoneExternalID": "[cef][destination][zone][external_id]",
    "destinationZoneURI": "[cef][destination][zone][uri]", "deviceAction": "[event][action]",
    "deviceAddress": "[{device}][ip]", "deviceDirection": "[network][direction]",
    "deviceDnsDomain": "[{device}][registered_domain]", "deviceEventCategory": "[cef][category]",
    "deviceExternalId": "[{device}][name]", "deviceFacility": "[log][syslog][facility][code]",
    "deviceHostName": "[{device}][hostname]", "deviceInboundInterface": "[observer][ingress][interface][name]",
    "deviceMacAddress": "[{device}][mac]", "deviceNtDomain": "[cef][nt_domain]",
    "deviceOutboundInterface": "[observer][egress][interface][name]", "devicePayloadId": "[cef][payload_id]",
    "deviceProcessId": "[process][pid]", "deviceProcessName": "[process][name]",
    "deviceReceiptTime": "[@timestamp]", "deviceTimeZone": "[event][timezone]",
    "deviceTranslatedAddress": "[host][nat][ip]",
    "deviceTranslatedZoneExternalID": "[cef][translated_zone][external_id]",
    "deviceTranslatedZoneURI": "[cef][translated_zone][uri]", "deviceVersion": "[observer][version]",
    "deviceZoneExternalID": "[cef][zone][external_id]", "deviceZoneURI": "[cef][zone][uri]",
    "endTime": "[event][end]", "eventId": "[event][id]", "eventOutcome": "[event][outcome]",
    "externalId": "[cef][external_id]", "fileCreateTime": "[file][created]", "fileHash": "[file][hash]",
    "fileId": "[file][inode]", "fileModificationTime": "[file][mtime]", "fileName": "[file][name]",
    "filePath": "[file][path]", "filePermission": "[file][group]", "fileSize": "[file][size]",
    "fileType": "[file][extension]", "managerReceiptTime": "[event][ingested]", "message": "[message]",
    "oldFileCreateTime": "[cef][old_file][created]", "oldFileHash": "[cef][old_file][hash]",
    "oldFileId": "[cef][old_file][inode]", "oldFileModificationTime": "[cef][old_file][mtime]",
    "oldFileName": "[cef][old_file][name]", "oldFilePath": "[cef][old_file][path]",
    "oldFilePermission": "[cef][old_file][group]", "oldFileSize": "[cef][old_file][size]",
    "oldFileType": "[cef][old_file][extension]", "rawEvent": "[event][original]", "Reason": "[event][reason]",
    "reason": "[event][reason]", "requestClientApplication": "[user_agent][original]",
    "requestContext": "[http][request][referrer]", "requestCookies": "[cef][request][cookies]",
    "requestMethod": "[http][request][method]", "requestUrl": "[url][original]", "sourceAddress": "[source][ip]",
    "sourceDnsDomain": "[source][registered_domain]", "sourceGeoLatitude": "[source][geo][location][lat]",
    "sourceGeoLongitude": "[source][geo][location][lon]", "sourceHostName": "[source][domain]",
    "sourceMacAddress": "[source][mac]", "sourceNtDomain": "[source][registered_domain]",
    "sourcePort": "[source][port]", "sourceProcessId": "[source][process][pid]",
    "sourceProcessName": "[source][process][name]", "sourceServiceName": "[source][service][name]",
    "sourceTranslatedAddress": "[source][nat][ip]", "sourceTranslatedPort": "[source][nat][port]",
    "sourceTranslatedZoneExternalID": "[cef][source][translated_zone][external_id]",
    "sourceTranslatedZoneURI": "[cef][source][translated_zone][uri]", "sourceUserId": "[source][user][id]",
    "sourceUserName": "[source][user][name]", "sourceUserPrivileges": "[source][user][group][name]",
    "sourceZoneExternalID": "[cef][source][zone][external_id]", "sourceZoneURI": "[cef][source][zone][uri]",
    "startTime": "[event][start]", "transportProtocol": "[network][transport]", "type": "[cef][type]",
    **{f"{cef}{i}": f"[cef][{ecs}_{i}][value]" for cef, (ecs, n) in _CUSTOM.items() for i in range(1, n + 1)},
    **{f"{cef}{i}Label": f"[cef][{ecs}_{i}][label]" for cef, (ecs, n) in _CUSTOM.items() for i in range(1, n + 1)},
}
# Short keys the ECS table adds to the legacy ones.
EXTRA_KEYS = {"dvcmac": "deviceMacAddress", "dlat": "destinationGeoLatitude", "dlong": "destinationGeoLongitude",
              "slat": "sourceGeoLatitude", "slong": "sourceGeoLongitude", "reason": "Reason", "dtz": "deviceTimeZone"}
