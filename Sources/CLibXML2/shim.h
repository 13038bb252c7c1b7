#ifndef PEERWALL_CLIBXML2_SHIM_H
#define PEERWALL_CLIBXML2_SHIM_H
/*
 * Debian's libxml2 is built with ICU, so its headers include the system's <unicode/*.h>.
 * Swift's Foundation carries its own, newer ICU headers, and a module that sees both (any
 * importer of Host together with Foundation or XCTest) fails with "'UErrorCode' has different
 * definitions". ICU appears only in the trailing fields of xmlCharEncodingHandler, which
 * peerwall never touches, so hiding it changes nothing that Swift code reads.
 */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#endif
