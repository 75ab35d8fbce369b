/* filer-cli-json.h: one JSON object a line, for --json
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Starts an object {"event": @event, …}. */
JsonBuilder *filer_cli_json_begin  (const char  *event);
void         filer_cli_json_string (JsonBuilder *builder,
                                    const char  *name,
                                    const char  *value);
void         filer_cli_json_int    (JsonBuilder *builder,
                                    const char  *name,
                                    gint64       value);
void         filer_cli_json_double (JsonBuilder *builder,
                                    const char  *name,
                                    double       value);
/* Ends the object @builder holds and prints it as one line on stdout. */
void         filer_cli_json_emit   (JsonBuilder *builder);

G_END_DECLS
