"""telemetry: tracing (OpenTelemetry), off unless OTEL_* asks for it; every package may use it."""
