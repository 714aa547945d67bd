"""An OTLP/HTTP trace receiver for llmux's tests: decodes what llmuxd exports with the
opentelemetry-proto package (protobuf or JSON) and prints one JSON line per span.

The first line on stdout is `port N` (it listens on 127.0.0.1, port chosen by the system).
Each span line has name, kind, trace_id, span_id, parent_span_id, attributes (a plain dict),
status {code, message}, events [{name, attributes}], resource (a plain dict) and the
content type it came as. With --stall it reads each request and never answers (a collector
that hangs); it prints `stalled` for each request it holds.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS = {0: "unset", 1: "ok", 2: "error"}
lock = threading.Lock()


def emit(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    if kind is None:
        return None
    return getattr(any_value, kind)


def attributes(pairs):
    return {kv.key: value(kv.value) for kv in pairs}


class Handler(BaseHTTPRequestHandler):
    stall = False

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.stall:
            emit("stalled")
            time.sleep(3600)
            return
        content_type = self.headers.get("content-type", "")
        request = trace_service_pb2.ExportTraceServiceRequest()
        if content_type.startswith("application/json"):
            json_format.Parse(body, request)
        else:
            request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    emit(json.dumps({
                        "path": self.path,
                        "content_type": content_type,
                        "name": span.name,
                        "kind": KINDS.get(span.kind, str(span.kind)),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "attributes": attributes(span.attributes),
                        "status": {"code": STATUS.get(span.status.code, str(span.status.code)), "message": span.status.message},
                        "events": [{"name": e.name, "attributes": attributes(e.attributes)} for e in span.events],
                        "resource": resource,
                    }))
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stall", action="store_true", help="hold every request without answering")
    arguments = parser.parse_args()
    Handler.stall = arguments.stall
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    emit(f"port {server.server_address[1]}")
    server.serve_forever()


if __name__ == "__main__":
    main()
