/* fuzz-announce.c: libFuzzer harness for the announcement record decoder
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Feeds arbitrary bytes to _pipecom_decode_announce() the way
 * process_records() does: record after record until it needs more bytes,
 * then again as once the FIFO read empty (at_end), which must use or drop
 * everything. Checks the decoder's contract on every record it returns.
 */

#include "config.h"

#include <string.h>

#include "pipecom-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  gsize off = 0;

  for (gboolean at_end = FALSE; ; at_end = TRUE)
    {
      for (;;)
        {
          PipecomAnnounce record;
          gsize used = _pipecom_decode_announce (data + off, size - off, at_end, &record);

          if (used == 0)
            break;

          g_assert (used <= size - off);
          if (record.base != NULL)
            {
              gsize plen = strlen (record.base);

              g_assert (used <= PIPECOM_ANNOUNCE_MAX);
              g_assert (used == PIPECOM_ANNOUNCE_HEADER_SIZE + plen + record.inline_len);
              g_assert (plen > 0);
              g_assert (memcmp (data + off + PIPECOM_ANNOUNCE_HEADER_SIZE, record.base, plen) == 0);
              g_assert (record.inline_data == data + off + PIPECOM_ANNOUNCE_HEADER_SIZE + plen);
              g_assert (record.kind == PIPECOM_ANNOUNCE_CONNECT ||
                        record.kind == PIPECOM_ANNOUNCE_ONESHOT);
              g_free (record.base);
            }
          off += used;
        }

      /* What is left never holds a complete valid record, and is shorter
       * than two records (the listener's buffer relies on it). */
      g_assert (size - off < PIPECOM_ANNOUNCE_HEADER_SIZE || memcmp (data + off, "PCOM", 4) == 0 ||
                size - off < 4);
      g_assert (size - off < 2 * PIPECOM_ANNOUNCE_MAX);

      if (at_end)
        break;
    }

  g_assert (off == size);
  return 0;
}
