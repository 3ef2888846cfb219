/*
 * Messages in the user's language, with gettext (po/, the "portview"
 * domain).  _() translates where text is printed; N_() marks a string in
 * a table (option help, column titles, class names) for xgettext, left
 * as it is until _() translates it at the point of printing; P_()
 * (ngettext) where a count decides the form.  Without a catalog for the locale (the
 * C locale, the unit tests) each returns the English original.  What a
 * program reads (JSON, NDJSON, metrics, --list-options, --complete,
 * state names) is never passed through them.
 */
#ifndef PORTVIEW_I18N_H
#define PORTVIEW_I18N_H

#include <libintl.h>

#define PV_TEXTDOMAIN "portview"
#define _(s)	      dgettext(PV_TEXTDOMAIN, s)
#define N_(s)	      (s)
/* one or many by n (ngettext): the catalog's plural forms, English's n == 1 */
#define P_(one, many, n) dngettext(PV_TEXTDOMAIN, one, many, (unsigned long)(n))

#endif
