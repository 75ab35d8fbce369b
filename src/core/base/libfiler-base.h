/* libfiler-base.h: src/core/base/, util, net, sockets, the device key: what every other folder may use
 *
 * The one header of this folder for code outside it. It may use: GLib, GIO and GnuTLS only.
 *
 *   filer-identity.[ch]  this device's key and certificate, and ids made from keys
 *   filer-net.[ch]       small address helpers shared by discovery code
 *   filer-read-ahead-stream-private.h  a TCP stream whose reads fill a buffer (under TLS)
 *   filer-socket.[ch]    UDP sockets: buffers, and the one datagram read loop
 *   filer-tls.[ch]       mutual TLS 1.3 between two device keys, over any GIOStream
 *   filer-tls-server-stream.c  a listener's TLS 1.3 on GnuTLS, no thread
 *   filer-tls-server-stream-private.h  (its header, for filer-tls.c)
 *   filer-util.[ch]      small helpers every part of core shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#define FILER_INSIDE
#include "filer-identity.h"
#include "filer-net.h"
#include "filer-socket.h"
#include "filer-tls.h"
#include "filer-util.h"
#undef FILER_INSIDE
