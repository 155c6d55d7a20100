"""A minimal webhook receiver for ``scripts/bench.py``'s outbound workload: answers every POST
with 204 at once (keep-alive), counts them, and answers ``GET /count`` with the count.

Plain asyncio and no HTTP library, so the receiver costs as little as a receiver can and the
benchmark measures the server's side of the calls.

    python scripts/webhook_sink.py --port 8765
"""

from __future__ import annotations

import argparse
import asyncio

COUNT = [0]


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET /count"):
                body = str(COUNT[0]).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            else:
                COUNT[0] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
