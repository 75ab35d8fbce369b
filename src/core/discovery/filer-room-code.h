/* filer-room-code.h: room codes that nobody can guess, and typed ones checked
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#if !defined (FILER_INSIDE) && !defined (FILER_COMPILATION)
# error "Only <libfiler.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

#define FILER_ROOM_CODE_ERROR (filer_room_code_error_quark ())

/**
 * FilerRoomCodeError:
 * @FILER_ROOM_CODE_ERROR_TOO_SHORT: fewer than
 *   %FILER_ROOM_CODE_MIN_LENGTH letters and digits: guessable
 * @FILER_ROOM_CODE_ERROR_TOO_LONG: more than
 *   %FILER_ROOM_CODE_MAX_LENGTH letters and digits
 * @FILER_ROOM_CODE_ERROR_INVALID_CHARACTER: a character that is not a
 *   letter, a digit, a dash or a space (or the letter U)
 *
 * Why a typed room code was refused (docs/protocol.md §2.9).
 */
typedef enum
{
  FILER_ROOM_CODE_ERROR_TOO_SHORT,
  FILER_ROOM_CODE_ERROR_TOO_LONG,
  FILER_ROOM_CODE_ERROR_INVALID_CHARACTER,
} FilerRoomCodeError;

/* Symbols of Crockford's base32, 5 bits each: a generated code has 12
 * (60 bits), a typed one at least 8 (40 bits) and at most 32. */
#define FILER_ROOM_CODE_GENERATED_LENGTH 12
#define FILER_ROOM_CODE_MIN_LENGTH        8
#define FILER_ROOM_CODE_MAX_LENGTH       32

GQuark  filer_room_code_error_quark (void);
char   *filer_room_code_generate    (void);
char   *filer_room_code_normalize   (const char  *text,
                                     GError     **error);

G_END_DECLS
