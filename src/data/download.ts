/**
 * Downloading a file over HTTP(S) the careful way: redirects followed, progress reported, size and sha256
 * verified, bytes written to a temporary file that is renamed onto the destination only once verified.
 * An interrupted, truncated or corrupt download leaves nothing at the destination and says why.
 */

import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { DownloadError } from "../errors.js";
import { writeAtomically } from "../util/atomic.js";

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected size in bytes; checked against Content-Length before and the byte count after. */
  size?: number;
  /** Expected sha256, lower-case hex. */
  sha256?: string;
  /** Called as bytes arrive; `total` is undefined when the server sends no Content-Length. */
  onProgress?: (received: number, total: number | undefined) => void;
  /**
   * Abort when no byte arrives for this long (a stalled connection).
   * @default 30000
   */
  idleTimeoutMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** The URL the content finally came from, after redirects. */
  finalUrl: string;
}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest, size, sha256, onProgress, idleTimeoutMs = 30_000 } = options;
  const controller = new AbortController();
  let idle: NodeJS.Timeout | undefined;
  const armIdleTimer = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  };
  armIdleTimer();
  try {
    let response: Response;
    try {
      response = await fetch(url, { redirect: "follow", signal: controller.signal });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const offline =
        cause?.code === "ENOTFOUND" || cause?.code === "EAI_AGAIN" || cause?.code === "ECONNREFUSED";
      throw new DownloadError(
        url,
        `cannot connect (${cause?.code ?? cause?.message ?? (error as Error).message})`,
        offline
          ? "no network here? `make dataset DATASET=synthetic` makes a file with the same schema offline"
          : undefined,
        error,
      );
    }
    if (!response.ok || response.body === null) {
      throw new DownloadError(
        url,
        `the server answered HTTP ${response.status} ${response.statusText}`.trim(),
      );
    }
    const header = response.headers.get("content-length");
    const total = header === null ? undefined : Number(header);
    if (size !== undefined && total !== undefined && total !== size) {
      await response.body.cancel();
      throw new DownloadError(
        url,
        `the server announces ${total} bytes, expected ${size}`,
        "the file changed upstream?",
      );
    }
    const hash = createHash("sha256");
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        armIdleTimer();
        hash.update(chunk);
        received += chunk.length;
        onProgress?.(received, total ?? size);
        callback(null, chunk);
      },
    });
    return await writeAtomically(dest, async (tmp) => {
      const out = createWriteStream(tmp);
      try {
        await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), meter, out);
      } catch (error) {
        // A connection cut early can fail the pipeline while the file is still being opened: wait until the
        // stream has closed, or the temporary file would appear after writeAtomically removed it.
        if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
        const reason = controller.signal.aborted
          ? String(controller.signal.reason?.message ?? "aborted")
          : "";
        throw new DownloadError(
          url,
          `interrupted after ${received} of ${total ?? size ?? "?"} bytes${reason ? ` (${reason})` : ""}: ${(error as Error).message}`,
          "run the command again; nothing was written to the destination",
          error,
        );
      }
      if (total !== undefined && received !== total) {
        throw new DownloadError(
          url,
          `the connection closed after ${received} of ${total} bytes`,
          "run it again",
        );
      }
      if (size !== undefined && received !== size) {
        throw new DownloadError(url, `received ${received} bytes, expected ${size}`);
      }
      const digest = hash.digest("hex");
      if (sha256 !== undefined && digest !== sha256.toLowerCase()) {
        throw new DownloadError(
          url,
          `sha256 mismatch: got ${digest}, expected ${sha256}`,
          "the file is corrupt or changed upstream; nothing was written to the destination",
        );
      }
      return { path: dest, bytes: received, sha256: digest, finalUrl: response.url || url };
    });
  } finally {
    clearTimeout(idle);
  }
}
