"""One or more real-format lines per pattern file, checked in both field-name modes."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.grok import Grok


def pick(found: dict[str, Any] | None, dotted: str) -> Any:
    node: Any = found
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"{dotted} missing in {found}"
        node = node[part]
    return node


T = "\t"
CASES = [
    # (pattern, line, legacy expectations, ECS expectations)
    ("HTTPD24_ERRORLOG",
     "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:55044] "
     "AH00037: File does not exist: /usr/local/apache2/htdocs/favicon.ico",
     {"module": "core", "loglevel": "error", "pid": "35708", "tid": "4328636416", "clientip": "72.15.99.187",
      "clientport": "55044", "errorcode": "AH00037", "message": "File does not exist: /usr/local/apache2/htdocs/favicon.ico"},
     {"apache.error.module": "core", "log.level": "error", "process.pid": 35708, "process.thread.id": 4328636416,
      "source.address": "72.15.99.187", "source.port": 55044, "error.code": "AH00037"}),
    ("SYSLOGLINE", "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Server listening on 0.0.0.0 port 22.",
     {"timestamp": "Mar 27 13:06:56", "logsource": "ip-10-77-20-248", "program": "sshd", "pid": "1291",
      "message": "Server listening on 0.0.0.0 port 22."},
     {"host.hostname": "ip-10-77-20-248", "process.name": "sshd", "process.pid": 1291}),
    ("SYSLOG5424LINE", "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
     '[exampleSDID@32473 iut="3"] An application event log entry',
     {"syslog5424_pri": "165", "syslog5424_ver": "1", "syslog5424_ts": "2003-10-11T22:14:15.003Z",
      "syslog5424_host": "mymachine.example.com", "syslog5424_app": "evntslog", "syslog5424_msgid": "ID47",
      "syslog5424_msg": "An application event log entry"},
     {"log.syslog.priority": 165, "system.syslog.version": "1", "timestamp": "2003-10-11T22:14:15.003Z",
      "host.hostname": "mymachine.example.com", "process.name": "evntslog", "event.code": "ID47",
      "message": "An application event log entry"}),
    ("CRONLOG", "Jun 14 15:16:01 combo CRON[1234]: (root) CMD (run-parts /etc/cron.hourly)",
     {"user": "root", "action": "CMD", "message": "run-parts /etc/cron.hourly"},
     {"user.name": "root", "system.cron.action": "CMD", "message": "run-parts /etc/cron.hourly"}),
    ("SYSLOGPAMSESSION", "Mar 27 13:17:01 ip-10-77-20-248 CRON[1473]: pam_unix(cron:session): session opened for "
     "user cyrus by (uid=0)",
     {"pam_module": "pam_unix", "pam_caller": "cron:session", "pam_session_state": "opened", "username": "cyrus",
      "pam_by": "(uid=0)"},
     {"system.auth.pam.module": "pam_unix", "system.auth.pam.session_state": "opened", "user.name": "cyrus"}),
    ("CATALINALOG", "31-Jul-2020 16:40:38.578 INFO [main] org.apache.catalina.startup.VersionLoggerListener.log "
     "Server version name:   Apache Tomcat/9.0.37",
     None,  # Logstash's legacy CATALINALOG only knows the Tomcat 7 format ("Jul 30, 2020 3:00:21 PM")
     {"log.level": "INFO", "java.log.origin.thread.name": "main", "log.origin.function": "log"}),
    ("REDISLOG", "[4018] 14 Nov 07:01:22.119 * Background saving terminated with success",
     {"pid": "4018", "timestamp": "14 Nov 07:01:22.119"}, {"process.pid": 4018}),
    ("REDISMONLOG", '1470637867.953466 [0 195.168.1.1:52500] "info"',
     {"database": "0", "client": "195.168.1.1", "port": "52500", "command": "info"},
     {"redis.database.id": "0", "client.ip": "195.168.1.1", "client.port": 52500, "redis.command.name": "info"}),
    ("RUBY_LOGGER", "I, [2014-01-02T10:20:30.123456 #12345]  INFO -- myapp: Started",
     {"pid": "12345", "loglevel": "INFO", "progname": "myapp", "message": "Started"},
     {"process.pid": 12345, "log.level": "INFO", "process.name": "myapp"}),
    ("RAILS3", 'Started GET "/posts?page=2" for 127.0.0.1 at 2013-07-29 10:51:32 +0200\n'
     "Processing by PostsController#index as HTML\nCompleted 200 OK in 25.2ms (Views: 20.1ms | ActiveRecord: 1.5ms)",
     {"verb": "GET", "request": "/posts?page=2", "controller": "PostsController", "action": "index",
      "format": "HTML", "response": "200", "totalms": "25.2"},
     {"http.request.method": "GET", "rails.controller.class": "PostsController", "http.response.status_code": 200,
      "rails.request.duration.total": 25.2, "rails.request.duration.active_record": 1.5}),
    ("MAVEN_VERSION", "1.2.3-SNAPSHOT", {}, {}),
    ("MCOLLECTIVE", "I, [2014-01-02T10:20:30.123456 #123]  INFO", {"pid": "123", "event_level": "INFO"},
     {"process.pid": 123, "log.level": "INFO"}),
    ("MONGO3_LOG", "2016-09-22T13:17:00.143+0000 I NETWORK  [initandlisten] waiting for connections on port 27017",
     {"severity": "I", "component": "NETWORK", "context": "initandlisten", "message": "waiting for connections on port 27017"},
     {"log.level": "I", "mongodb.component": "NETWORK", "mongodb.context": "initandlisten"}),
    ("POSTGRESQL", "2013-11-12 13:45:16 EST postgres 5282fd7c.1e4d 7757",
     {"user_id": "postgres", "connection_id": "5282fd7c.1e4d", "pid": "7757"},
     {"event.timezone": "EST", "user.name": "postgres", "postgresql.log.connection_id": "5282fd7c.1e4d",
      "process.pid": 7757}),
    ("SQUID3", "1525344856.899 16867 10.170.72.111 TCP_TUNNEL/200 6256 CONNECT logs.example.com:443 - "
     "HIER_DIRECT/10.1.1.1 -",
     {"duration": "16867", "client_address": "10.170.72.111", "cache_result": "TCP_TUNNEL", "status_code": "200",
      "bytes": "6256", "request_method": "CONNECT", "url": "logs.example.com:443", "server": "10.1.1.1"},
     {"squid.request.duration": 16867, "source.ip": "10.170.72.111", "http.response.status_code": 200,
      "http.response.bytes": 6256, "destination.address": "10.1.1.1"}),
    ("HAPROXYHTTP", "Sep 14 02:01:37 lb haproxy[13196]: 127.0.0.1:64825 [14/Sep/2014:02:01:37.452] public "
     'nginx/server1 0/0/0/5/5 200 490 - - ---- 1/1/0/1/0 0/0 "GET /my/path HTTP/1.1"',
     {"client_ip": "127.0.0.1", "frontend_name": "public", "server_name": "server1", "http_status_code": "200",
      "http_verb": "GET", "http_request": "/my/path", "http_version": "1.1"},
     {"source.address": "127.0.0.1", "source.port": 64825, "haproxy.backend_name": "nginx",
      "http.response.status_code": 200, "http.request.method": "GET", "url.path": "/my/path", "http.version": "1.1"}),
    ("BIND9", "17-Feb-2018 23:06:56.326 queries: info: client 172.26.0.1#12345 (test.example.com): "
     "query: test.example.com IN A +E(0)K (172.26.0.3)",
     {"clientip": "172.26.0.1", "clientport": "12345", "querytype": "A +E(0)K", "dns": "172.26.0.3"},
     {"client.ip": "172.26.0.1", "client.port": 12345, "dns.question.name": "test.example.com",
      "dns.question.type": "A", "server.ip": "172.26.0.3"}),
    ("EXIM", "2020-02-11 17:09:46 1j1Z2s-00029a-Ju <= sender@example.com H=(helo.example.net) [10.0.0.1] "
     "P=esmtp S=1234 id=abc@example.net T=\"Hello there\" for rcpt@example.org",
     {"exim_msgid": "1j1Z2s-00029a-Ju", "exim_sender_email": "sender@example.com", "remote_host": "10.0.0.1",
      "protocol": "esmtp", "exim_msg_size": "1234", "exim_recipient_email": "rcpt@example.org"},
     {"exim.log.message.id": "1j1Z2s-00029a-Ju", "exim.log.sender.email": "sender@example.com",
      "source.ip": "10.0.0.1", "network.protocol": "esmtp", "exim.log.message.size": 1234,
      "exim.log.message.subject": "Hello there", "exim.log.recipient.email": "rcpt@example.org"}),
    ("S3_ACCESS_LOG", "79a5 mybucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a5 3E57427F3EXAMPLE "
     'REST.GET.VERSIONING - "GET /mybucket?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" -',
     {"bucket": "mybucket", "clientip": "192.0.2.3", "operation": "REST.GET.VERSIONING", "verb": "GET",
      "response": 200, "bytes": 113},
     {"aws.s3access.bucket": "mybucket", "client.ip": "192.0.2.3", "http.request.method": "GET",
      "http.response.status_code": 200, "aws.s3access.bytes_sent": 113, "user_agent.original": "S3Console/0.4"}),
    ("ELB_ACCESS_LOG", "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 "
     '0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1"',
     {"elb": "my-loadbalancer", "clientip": "192.168.131.39", "clientport": 2817, "response": 200, "bytes": 29,
      "verb": "GET", "urihost": "www.example.com:80"},
     {"aws.elb.name": "my-loadbalancer", "source.ip": "192.168.131.39", "http.response.status_code": 200,
      "http.response.body.bytes": 29, "url.domain": "www.example.com", "url.port": 80}),
    ("CLOUDFRONT_ACCESS_LOG", T.join(["2014-05-23", "01:13:11", "FRA2", "182", "192.0.2.10", "GET",
                                      "d111111abcdef8.cloudfront.net", "/view/my/file.html", "200",
                                      "www.displaymyfiles.com", "Mozilla/4.0", "-", "-", "RefreshHit",
                                      "MRVMF7KydIvxMWfJIglgwHQwZsbG2IhRJ07sn9AkKUFSHS9EXAMPLE==",
                                      "d111111abcdef8.cloudfront.net", "http", "100", "0.001", "-", "-", "-",
                                      "RefreshHit"]),
     {"x_edge_location": "FRA2", "sc_bytes": 182, "clientip": "192.0.2.10", "sc_status": 200},
     {"aws.cloudfront.x_edge_location": "FRA2", "destination.bytes": 182, "source.ip": "192.0.2.10",
      "http.response.status_code": 200, "aws.cloudfront.time_taken": 0.001}),
    ("RT_FLOW3", "RT_FLOW_SESSION_DENY: session denied 10.0.0.1/2345->192.168.1.1/80 junos-http 6(0) "
     "default-deny trust untrust UNKNOWN UNKNOWN N/A(N/A) ge-0/0/1.0",
     {"event": "RT_FLOW_SESSION_DENY", "src-ip": "10.0.0.1", "dst-port": "80", "policy-name": "default-deny"},
     {"juniper.srx.tag": "RT_FLOW_SESSION_DENY", "source.ip": "10.0.0.1", "destination.port": 80,
      "rule.name": "default-deny", "observer.ingress.zone": "trust"}),
    ("BRO_CONN", T.join(["1366839071.467089", "CjhGID4nQcgTWjvg4c", "10.0.0.1", "52102", "10.0.0.2", "80", "tcp",
                         "http", "0.123", "100", "200", "SF", "-", "0", "ShADadFf", "5", "400", "4", "500", "(empty)"]),
     {"uid": "CjhGID4nQcgTWjvg4c", "orig_h": "10.0.0.1", "proto": "tcp", "conn_state": "SF"},
     {"zeek.session_id": "CjhGID4nQcgTWjvg4c", "source.ip": "10.0.0.1", "source.port": 52102,
      "network.transport": "tcp", "zeek.connection.state": "SF", "destination.bytes": 500}),
    ("BACULA_LOGLINE", '28-Aug 21:55 bacula-sd JobId 3: Ready to append to end of Volume "Vol001" size=123',
     {"bts": "28-Aug 21:55", "hostname": "bacula-sd", "jobid": "3", "volume": "Vol001"},
     {"host.hostname": "bacula-sd", "bacula.volume.name": "Vol001", "bacula.volume.size": 123}),
    ("NAGIOSLOGLINE", "[1427925600] SERVICE ALERT: web01;HTTP;CRITICAL;HARD;3;Connection refused",
     {"nagios_epoch": "1427925600", "nagios_hostname": "web01", "nagios_service": "HTTP", "nagios_attempt": "3"},
     {"host.hostname": "web01", "service.name": "HTTP", "nagios.log.attempt": 3, "message": "Connection refused"}),
    ("CISCOFW106023", 'Deny tcp src outside:10.1.2.3/4567 dst inside:10.9.8.7/22 by access-group "OUTSIDE_IN" [0x0, 0x0]',
     {"action": "Deny", "src_ip": "10.1.2.3", "dst_port": "22", "policy_id": "OUTSIDE_IN"},
     {"cisco.asa.outcome": "Deny", "source.ip": "10.1.2.3", "destination.port": 22, "cisco.asa.rule_name": "OUTSIDE_IN",
      "observer.ingress.interface.name": "outside", "@metadata.cisco.asa.hashcode1": "0x0"}),
    ("CISCOFW302013_302014_302015_302016", "Built outbound TCP connection 1234 for outside:203.0.113.5/443 "
     "(203.0.113.5/443) to inside:10.0.0.5/51234 (198.51.100.7/51234)",
     {"action": "Built", "direction": "outbound", "connection_id": "1234", "dst_mapped_ip": "198.51.100.7"},
     {"cisco.asa.outcome": "Built", "cisco.asa.network.transport": "TCP", "destination.nat.ip": "198.51.100.7",
      "observer.ingress.interface.name": "outside"}),
    ("IPTABLES", "IN=eth0 OUT= MAC=00:16:3e:2c:0d:0e:00:1b:21:51:16:d4:08:00 SRC=10.0.0.5 DST=10.0.0.9 LEN=60 "
     "TOS=0x00 PREC=0x00 TTL=64 ID=12345 DF PROTO=TCP SPT=41234 DPT=22 WINDOW=29200 RES=0x00 SYN URGP=0",
     None,  # IPTABLES exists only in Logstash's ECS set
     {"observer.ingress.interface.name": "eth0", "source.ip": "10.0.0.5", "destination.port": 22,
      "network.transport": "TCP", "iptables.ttl": 64}),
    ("NETSCREENSESSIONLOG", "Jan  1 00:00:00 10.0.0.1 ns5gt: NetScreen device_id=ns5gt  [Root]system-notification-00257(traffic): "
     'start_time="2010-01-01 00:00:00" duration=0 policy_id=1 service=http proto=6 src zone=Trust dst zone=Untrust '
     "action=Permit sent=100 rcvd=200 src=10.0.0.2 dst=1.2.3.4 src_port=1234 dst_port=80 src-xlated ip=5.6.7.8 "
     "port=4321 dst-xlated ip=1.2.3.4 port=80 session_id=42 reason=Close - TCP FIN",
     {"device_id": "ns5gt", "action": "Permit", "src_ip": "10.0.0.2", "reason": "Close - TCP FIN"},
     {"netscreen.device_id": "ns5gt", "event.action": "Permit", "source.address": "10.0.0.2", "source.nat.port": 4321,
      "netscreen.session.reason": "Close - TCP FIN", "event.code": "00257", "netscreen.session.type": "traffic"}),
]


@pytest.mark.parametrize(("pattern", "line", "legacy", "ecs"), CASES, ids=[c[0] for c in CASES])
def test_pattern_in_both_modes(pattern: str, line: str, legacy: dict[str, Any] | None, ecs: dict[str, Any]) -> None:
    for mode, expected in (("disabled", legacy), ("v8", ecs)):
        if expected is None:  # Logstash's legacy set has no such pattern / does not know this format
            continue
        found = Grok(f"%{{{pattern}}}", ecs_compatibility=mode).match(line)
        assert found is not None, (mode, pattern)
        for dotted, value in expected.items():
            assert pick(found, dotted) == value, (mode, dotted)


def test_zeek_http_ecs() -> None:
    line = T.join(["1366839071.467089", "CjhGID", "10.0.0.1", "52102", "10.0.0.2", "80", "1", "GET", "example.com",
                   "/index.html", "-", "1.1", "curl/7.1", "-", "0", "612", "200", "OK", "-", "-", "(empty)", "-", "-",
                   "-", "-", "-", "-", "FUID1", "-", "text/html"])
    found = Grok("%{ZEEK_HTTP}", ecs_compatibility="v8").match(line)
    assert pick(found, "http.request.method") == "GET" and pick(found, "http.response.status_code") == 200
    assert pick(found, "user_agent.original") == "curl/7.1" and pick(found, "http.response.mime_type") == "text/html"


def test_redis_legacy_matches_pygrok() -> None:
    pygrok = pytest.importorskip("pygrok")
    line = "[4018] 14 Nov 07:01:22.119 * Background saving terminated with success"
    theirs = {k: v for k, v in pygrok.Grok("%{REDISLOG}").match(line).items() if v}
    assert Grok("%{REDISLOG}", ecs_compatibility="disabled").match(line) == theirs


def test_zeek_conn_with_macs_and_files_with_several_hosts() -> None:
    conn = T.join(["1366839071.467089", "CjhGID", "10.0.0.1", "52102", "10.0.0.2", "80", "tcp", "http", "0.5", "10",
                   "20", "SF", "T", "F", "0", "ShADadFf", "5", "400", "4", "500", "-", "00:11:22:33:44:55",
                   "66:77:88:99:aa:bb"])
    found = Grok("%{ZEEK_CONN}").match(conn)
    assert pick(found, "zeek.connection.local_resp") == "F" and pick(found, "destination.mac") == "66:77:88:99:aa:bb"
    files = T.join(["1366839071.1", "FUID", "10.0.0.1,10.0.0.3", "10.0.0.2", "CjhGID", "HTTP", "0", "MD5", "text/plain",
                    "-", "0.1", "-", "F", "100", "100", "0", "0", "F", "-", "abc", "-", "-", "-"])
    found = Grok("%{ZEEK_FILES}").match(files)
    assert pick(found, "zeek.files.tx_hosts") == "10.0.0.1,10.0.0.3" and pick(found, "server.ip") == "10.0.0.1"
    assert pick(found, "file.size") == 100 and pick(found, "file.hash.md5") == "abc"
