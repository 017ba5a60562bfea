/*
 * web-assets.h - the web page's files (server/web/), built into the binary
 * so that the page works offline and needs no install step: CMake turns
 * each file into a byte array (server/web/embed.cmake) at build time.
 *
 * The HTTP front end answers GET and HEAD of a path that is not under
 * /api/ with the asset of that path, or 404.
 */
#ifndef TODO_SERVER_WEB_ASSETS_H
#define TODO_SERVER_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path;          /* "/", "/app.js", ...: index.html is "/" */
    const char *type;          /* its Content-Type, with charset for text */
    const unsigned char *data; /* its bytes */
    size_t size;
};

/* The asset whose path is path[0..len) exactly (no query string), or NULL. */
const struct web_asset *web_asset_find(const char *path, size_t len);

#endif /* TODO_SERVER_WEB_ASSETS_H */
