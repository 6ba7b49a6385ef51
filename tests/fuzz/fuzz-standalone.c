/* fuzz-standalone.c: runs a fuzz harness over files, without libFuzzer
 *
 * Copyright 2026 The PipeCom Developers
 *
 * SPDX-License-Identifier: MIT
 *
 * Linked with a harness in ordinary builds, so that `meson test` replays
 * the seed corpora and every crash reproducer (tests/fuzz/<harness>/) as a
 * regression test. Arguments are files or directories of files.
 */

#include "config.h"

#include <glib.h>

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

static guint
run_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  LLVMFuzzerTestOneInput ((const guint8 *) contents, len);
  return 1;
}

int
main (int   argc,
      char *argv[])
{
  guint n = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GDir) d = g_dir_open (argv[i], 0, NULL);
          const char *entry;

          g_assert (d != NULL);
          while ((entry = g_dir_read_name (d)) != NULL)
            {
              g_autofree char *path = g_build_filename (argv[i], entry, NULL);
              n += run_file (path);
            }
        }
      else
        n += run_file (argv[i]);
    }

  g_print ("1..1\nok 1 - %u inputs ran without a crash\n", n);
  return 0;
}
