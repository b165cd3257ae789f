/*
 * CVQ_EXPORT marks the functions and data a cvq library offers to others.
 *
 * Every library is compiled with -fvisibility=hidden (docs/layout.md), so a
 * symbol is visible outside its shared object only when its declaration in
 * the public header carries this marker; the library's version script then
 * admits only names starting with cvq_, as a second fence.
 */
#ifndef CVQ_EXPORT_H
#define CVQ_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CVQ_EXPORT __attribute__((visibility("default")))
#else
#define CVQ_EXPORT
#endif

#endif /* CVQ_EXPORT_H */
