#!/bin/bash
# build-aux/win32/build-sdk.sh: build a mingw-w64 GLib SDK for cross-building
# PipeCom for Windows, from Debian source packages, and prepare a Wine prefix.
#
# Usage: build-aux/win32/build-sdk.sh [STEP...]
#   steps: deps sources libffi pcre2 zlib intl crossfiles glib wine
#          all (= every step but wine), env (print exports for a shell)
#   Without arguments: all wine.
#
# Everything goes under $WIN32_SDK_DIR (default ~/.cache/win32-sdk):
#   prefix/                   the SDK (DLLs in prefix/bin)
#   x86_64-w64-mingw32.ini    the cross file for PipeCom (exe_wrapper = wine64)
#   cross-build.ini           the cross file used to build GLib itself
#   src/ build/ logs/ stamps/ wineprefix/
# Each step leaves a stamp; a second run does nothing and takes well under
# a second.  Remove $WIN32_SDK_DIR/stamps/STEP to redo a step.

set -u

SDK=${WIN32_SDK_DIR:-$HOME/.cache/win32-sdk}
PREFIX=$SDK/prefix
HOST=x86_64-w64-mingw32
JOBS=${JOBS:-$(nproc)}
WINE64=${WINE64:-/usr/lib/wine/wine64}
export WINEPREFIX=${WINEPREFIX:-$SDK/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
GLIB_VERSION=2.74

# Bump when a step changes, so that caches made by an older script are
# rebuilt rather than trusted.
SDK_RECIPE=2

mkdir -p "$SDK/src" "$SDK/build" "$SDK/logs" "$SDK/stamps" "$PREFIX"
if [ "$(cat "$SDK/stamps/recipe" 2>/dev/null)" != "$SDK_RECIPE" ]; then
  rm -f "$SDK/stamps/"*
  echo "$SDK_RECIPE" > "$SDK/stamps/recipe"
fi

as_root ()
{
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# --- steps -----------------------------------------------------------------

step_deps ()
{
  local pkgs="gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 binutils-mingw-w64-x86-64
              mingw-w64-tools libz-mingw-w64-dev wine64 meson ninja-build
              pkg-config make dpkg-dev python3"
  local missing=""
  for p in $pkgs; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  as_root apt-get update
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y \
    --no-install-recommends -o DPkg::Lock::Timeout=900 $missing
}

# Mirror every configured "deb" source as "deb-src" (fresh images have none),
# without naming any mirror ourselves.  Idempotent: the files are only
# rewritten, and apt updated, when their content changes.
mirror_deb_src ()
{
  local d=/etc/apt/sources.list.d
  local changed=0 tmp f
  tmp=$(mktemp)
  # deb822 files: copy each stanza whose Types has "deb", as deb-src.
  for f in "$d"/*.sources; do
    [ -f "$f" ] && [ "$f" != "$d/pipecom-win32-deb-src.sources" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         {
           keep = 0
           for (i = 1; i <= NF; i++)
             if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) keep = 1
           if (!keep) next
           for (i = 1; i <= NF; i++)
             if ($i ~ /^Types:/) print "Types: deb-src"
             else if ($i !~ /^#/) print $i
           print ""
         }' "$f"
  done > "$tmp"
  if ! cmp -s "$tmp" "$d/pipecom-win32-deb-src.sources"; then
    as_root install -m 644 "$tmp" "$d/pipecom-win32-deb-src.sources"
    changed=1
  fi
  # One-line files: "deb ..." becomes "deb-src ...".
  for f in /etc/apt/sources.list "$d"/*.list; do
    [ -f "$f" ] && [ "$f" != "$d/pipecom-win32-deb-src.list" ] || continue
    sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f"
  done > "$tmp"
  if ! cmp -s "$tmp" "$d/pipecom-win32-deb-src.list"; then
    as_root install -m 644 "$tmp" "$d/pipecom-win32-deb-src.list"
    changed=1
  fi
  rm -f "$tmp"
  if [ $changed = 1 ]; then
    as_root apt-get update
  fi
}

step_sources ()
{
  mirror_deb_src
  # Start clean: dpkg-source refuses to unpack over an existing tree.
  rm -rf "$SDK/src"; mkdir -p "$SDK/src"
  cd "$SDK/src"
  # Some security-suite sources are listed but not served (404); fall back
  # to the release suite.
  apt-get source --only-source glib2.0 || apt-get source --only-source glib2.0/bookworm
  apt-get source --only-source libffi || apt-get source --only-source libffi/bookworm
  apt-get source --only-source pcre2 || apt-get source --only-source pcre2/bookworm
  ls -d glib2.0-*/ libffi-*/ pcre2-*/ >/dev/null
}

srcdir ()
{
  ls -d "$SDK/src/$1"-*/ | sort -V | tail -n 1
}

autotools_build ()
{
  local name=$1; shift
  local src b
  src=$(srcdir "$name")
  b=$SDK/build/$name
  rm -rf "$b"; mkdir -p "$b"; cd "$b"
  # lt_cv_to_host_file_cmd: keep libtool from running winepath (and so from
  # silently creating a wine prefix).
  "$src/configure" --host=$HOST --prefix="$PREFIX" \
    --enable-shared --disable-static \
    lt_cv_to_host_file_cmd=func_convert_file_noop "$@"
  make -j"$JOBS"
  make install
}

step_libffi ()
{
  autotools_build libffi --disable-docs --disable-multi-os-directory
}

step_pcre2 ()
{
  autotools_build pcre2 --disable-pcre2grep-libz --disable-pcre2grep-libbz2
}

step_zlib ()
{
  # zlib.pc lives in /usr/x86_64-w64-mingw32/lib/pkgconfig (named in the
  # cross files); the DLL goes next to the others so one WINEPATH entry is
  # enough.
  mkdir -p "$PREFIX/bin"
  cp /usr/$HOST/lib/zlib1.dll "$PREFIX/bin/"
}

step_intl ()
{
  # MinGW has no ngettext and Debian has no mingw gettext: a static no-op
  # libintl that meson's dependency('intl') finds.
  mkdir -p "$PREFIX/include" "$PREFIX/lib" "$SDK/build/intl"
  cat > "$PREFIX/include/libintl.h" <<'H'
#ifndef PIPECOM_SDK_LIBINTL_H
#define PIPECOM_SDK_LIBINTL_H
/* No-op libintl for the PipeCom Win32 SDK: no translations. */
#include <locale.h>
/* MinGW has no LC_MESSAGES; gettext's libintl.h defines it so. */
#ifndef LC_MESSAGES
# define LC_MESSAGES 1729
#endif
#ifdef __cplusplus
extern "C" {
#endif
char *gettext (const char *msgid) __attribute__((format_arg (1)));
char *dgettext (const char *domain, const char *msgid) __attribute__((format_arg (2)));
char *dcgettext (const char *domain, const char *msgid, int category) __attribute__((format_arg (2)));
char *ngettext (const char *msgid, const char *msgid_plural, unsigned long n)
  __attribute__((format_arg (1))) __attribute__((format_arg (2)));
char *dngettext (const char *domain, const char *msgid, const char *msgid_plural, unsigned long n)
  __attribute__((format_arg (2))) __attribute__((format_arg (3)));
char *dcngettext (const char *domain, const char *msgid, const char *msgid_plural, unsigned long n, int category)
  __attribute__((format_arg (2))) __attribute__((format_arg (3)));
char *textdomain (const char *domain);
char *bindtextdomain (const char *domain, const char *dirname);
char *bind_textdomain_codeset (const char *domain, const char *codeset);
#ifdef __cplusplus
}
#endif
#endif
H
  cat > "$SDK/build/intl/intl.c" <<'C'
#include <libintl.h>
char *gettext (const char *msgid) { return (char *) msgid; }
char *dgettext (const char *d, const char *msgid) { (void) d; return (char *) msgid; }
char *dcgettext (const char *d, const char *msgid, int c) { (void) d; (void) c; return (char *) msgid; }
char *ngettext (const char *s, const char *p, unsigned long n) { return (char *) (n == 1 ? s : p); }
char *dngettext (const char *d, const char *s, const char *p, unsigned long n) { (void) d; return (char *) (n == 1 ? s : p); }
char *dcngettext (const char *d, const char *s, const char *p, unsigned long n, int c) { (void) d; (void) c; return (char *) (n == 1 ? s : p); }
char *textdomain (const char *d) { return (char *) (d ? d : "messages"); }
char *bindtextdomain (const char *d, const char *dir) { (void) d; return (char *) dir; }
char *bind_textdomain_codeset (const char *d, const char *c) { (void) d; return (char *) c; }
C
  cd "$SDK/build/intl"
  $HOST-gcc -O2 -I"$PREFIX/include" -c intl.c -o intl.o
  rm -f "$PREFIX/lib/libintl.a"
  $HOST-ar rcs "$PREFIX/lib/libintl.a" intl.o
}

write_cross_file ()
{
  local out=$1 wrapper=$2 extra=$3
  cat > "$out.tmp" <<INI
# Generated by build-aux/win32/build-sdk.sh
[binaries]
c = '$HOST-gcc'
cpp = '$HOST-g++'
ar = '$HOST-ar'
strip = '$HOST-strip'
windres = '$HOST-windres'
pkgconfig = 'pkg-config'
$wrapper
[properties]
pkg_config_libdir = ['$PREFIX/lib/pkgconfig', '/usr/$HOST/lib/pkgconfig']
# meson adds <root>/bin to WINEPATH when it runs tests through wine
root = '$PREFIX'

[host_machine]
system = 'windows'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'
$extra
INI
  mv "$out.tmp" "$out"
}

step_crossfiles ()
{
  write_cross_file "$SDK/$HOST.ini" "exe_wrapper = '$WINE64'" ""
  # No exe_wrapper on purpose: GLib's configure probes take their cross
  # defaults and the GLib build never needs wine.
  write_cross_file "$SDK/cross-build.ini" "" "
[built-in options]
c_args = ['-I$PREFIX/include']
cpp_args = ['-I$PREFIX/include']
c_link_args = ['-L$PREFIX/lib']
cpp_link_args = ['-L$PREFIX/lib']"
}

step_glib ()
{
  local src b
  src=$(srcdir glib2.0)
  b=$SDK/build/glib
  rm -rf "$b"
  PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig:/usr/$HOST/lib/pkgconfig" \
  meson setup "$b" "$src" --cross-file "$SDK/cross-build.ini" \
    --prefix="$PREFIX" --libdir=lib --buildtype=release \
    --wrap-mode=nodownload -Dtests=false -Dinstalled_tests=false \
    -Dnls=disabled -Dman=false -Dgtk_doc=false \
    -Dlibmount=disabled -Dselinux=disabled \
    -Dxattr=false -Dsysprof=disabled
  ninja -C "$b" -j"$JOBS"
  meson install -C "$b" --no-rebuild
  grep -q "^Version: $GLIB_VERSION" "$PREFIX/lib/pkgconfig/glib-2.0.pc"
}

step_wine ()
{
  # The first wine run creates the prefix (~700 MB, 10-20 s); do it once.
  WINEDLLOVERRIDES="mscoree,mshtml=" "$WINE64" wineboot --init
  /usr/lib/wine/wineserver -w || true
  [ -f "$WINEPREFIX/system.reg" ]
}

print_env ()
{
  local lang=${LANG:-}
  case $lang in
    *.*) ;;
    *) lang=C.UTF-8 ;;
  esac
  cat <<ENV
export WIN32_SDK_DIR='$SDK'
export WINEPREFIX='$WINEPREFIX'
export WINEDEBUG='$WINEDEBUG'
export WINEPATH='$PREFIX/bin'
export PIPECOM_WIN32_CROSS_FILE='$SDK/$HOST.ini'
# Without an encoding in LANG (unset, or C), GLib asks Wine for the console's code page,
# which fails with no console (CI: no stdin, output to a pipe); g_test_init()
# makes that warning fatal and every test exits with status 3.
export LANG='$lang'
ENV
}

# --- driver ----------------------------------------------------------------

run_step ()
{
  local s=$1 t0 rc
  if [ -f "$SDK/stamps/$s" ]; then
    return 0
  fi
  t0=$(date +%s)
  echo "build-sdk: $s ..."
  # Bash ignores set -e in functions called from a condition: run each step
  # in a subshell with set -e, outside any condition.
  ( set -e; "step_$s" ) > "$SDK/logs/$s.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "build-sdk: $s FAILED (exit $rc), last lines of $SDK/logs/$s.log:" >&2
    tail -n 30 "$SDK/logs/$s.log" >&2
    exit 1
  fi
  touch "$SDK/stamps/$s"
  echo "build-sdk: $s done in $(( $(date +%s) - t0 )) s"
}

[ $# -eq 0 ] && set -- all wine
for arg in "$@"; do
  case $arg in
    all)
      for s in deps sources libffi pcre2 zlib intl crossfiles glib; do
        run_step $s
      done ;;
    deps|sources|libffi|pcre2|zlib|intl|crossfiles|glib|wine)
      run_step "$arg" ;;
    env)
      print_env ;;
    *)
      echo "build-sdk: unknown step '$arg'" >&2
      exit 2 ;;
  esac
done
