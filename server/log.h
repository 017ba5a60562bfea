/*
 * log.h - leveled log lines on stderr, safe to call from any thread.
 */
#ifndef TODO_SERVER_LOG_H
#define TODO_SERVER_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level that is printed. Call before threads start. */
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; -1 if none of them. */
int log_level_parse(const char *s);
/* 1 when messages of this level are printed (to skip costly formatting). */
int log_enabled(enum log_level level);

/* Writes "TIME LEVEL message\n" to stderr in one write(2), so lines from
 * different threads never interleave. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_msg(LOG_DEBUG, __VA_ARGS__);                                                       \
    } while (0)

#endif /* TODO_SERVER_LOG_H */
