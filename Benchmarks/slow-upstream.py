"""A slow OpenAI-compatible streaming upstream on loopback, for holding many streams open at once.

Every POST gets FRAMES chat-completion chunks, one every INTERVAL seconds, then a finish chunk, a usage chunk and
[DONE] (chunked transfer encoding, keep-alive). GET answers with a one-model list. Stops when killed.

    python3 Benchmarks/slow-upstream.py PORT FRAMES INTERVAL
"""
import asyncio
import json
import sys

PORT, FRAMES, INTERVAL = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
BASE = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1700000000, "model": "bench-model"}


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def frame(obj) -> bytes:
    return chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET"):
                body = b'{"object":"list","data":[{"id":"bench-model"}]}'
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                continue
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            for i in range(FRAMES):
                writer.write(frame({**BASE, "choices": [{"index": 0, "delta": {"content": f"word{i} "}, "finish_reason": None}]}))
                await writer.drain()
                await asyncio.sleep(INTERVAL)
            writer.write(frame({**BASE, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
            usage = {"prompt_tokens": 12, "completion_tokens": FRAMES, "total_tokens": 12 + FRAMES}
            writer.write(frame({**BASE, "choices": [], "usage": usage}))
            writer.write(chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", PORT, backlog=4096)
    async with server:
        await server.serve_forever()


asyncio.run(main())
