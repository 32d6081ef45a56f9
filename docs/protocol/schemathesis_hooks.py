"""schemathesis hooks for the booth protocol: tus PATCH bodies are raw bytes."""
import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
