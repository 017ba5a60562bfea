/*
 * test_undo_stack.c - the SQLite engine's in-memory order of undoable
 * changes (server/undo-stack.h): newest first, bounded, and every push and
 * pop taken back by a rollback to a mark, a full stack's dropped entry
 * included, with look-ups by id that stay right through all of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "undo-stack.h"

static struct proto_str S(const char *s) {
    return (struct proto_str){s, strlen(s)};
}

static void
push_n(struct undo_stack *st, int64_t from, int64_t to)
{
    char id[32];
    for (int64_t i = from; i <= to; i++) {
        snprintf(id, sizeof(id), "t%lld", (long long)i);
        assert_int_equal(undo_stack_push(st, i, 2, S(id)), 0);
    }
}

static void newest_first(void **state)
{
    (void)state;
    struct undo_stack st;
    undo_stack_init(&st);
    assert_null(undo_stack_top(&st));
    push_n(&st, 1, 3);
    assert_int_equal(undo_stack_top(&st)->seq, 3);
    assert_int_equal(undo_stack_pop(&st), 0);
    assert_int_equal(undo_stack_top(&st)->seq, 2);
    assert_string_equal(undo_stack_top(&st)->id, "t2");
    assert_null(undo_stack_find(&st, S("t3")));
    assert_non_null(undo_stack_find(&st, S("t1")));
    undo_stack_free(&st);
}

/* Past its depth the oldest entry goes, and its id is no longer found. */
static void bounded(void **state)
{
    (void)state;
    struct undo_stack st;
    undo_stack_init(&st);
    push_n(&st, 1, UNDO_STACK_DEPTH + 5);
    assert_int_equal(st.n, UNDO_STACK_DEPTH);
    assert_null(undo_stack_find(&st, S("t5")));
    assert_non_null(undo_stack_find(&st, S("t6")));
    size_t popped = 0;
    while (undo_stack_top(&st) != NULL) {
        assert_int_equal(undo_stack_top(&st)->seq, UNDO_STACK_DEPTH + 5 - (int64_t)popped);
        assert_int_equal(undo_stack_pop(&st), 0);
        popped++;
    }
    assert_int_equal(popped, UNDO_STACK_DEPTH);
    assert_null(undo_stack_find(&st, S("t6")));
    undo_stack_free(&st);
}

/* A rollback puts back what was dropped and popped, and forgets what was
 * pushed, to the mark and no further. */
static void rollback_to_mark(void **state)
{
    (void)state;
    struct undo_stack st;
    undo_stack_init(&st);
    push_n(&st, 1, UNDO_STACK_DEPTH);
    undo_stack_commit(&st);
    size_t mark = undo_stack_mark(&st);
    push_n(&st, 1000, 1002); /* drops t1..t3 */
    assert_null(undo_stack_find(&st, S("t2")));
    assert_int_equal(undo_stack_pop(&st), 0);
    assert_int_equal(undo_stack_pop(&st), 0);
    size_t mid = undo_stack_mark(&st);
    assert_int_equal(undo_stack_pop(&st), 0);
    assert_int_equal(undo_stack_pop(&st), 0); /* t100 */
    undo_stack_rollback(&st, mid);
    assert_int_equal(undo_stack_top(&st)->seq, 1000);
    undo_stack_rollback(&st, mark);
    assert_int_equal(st.n, UNDO_STACK_DEPTH);
    assert_int_equal(undo_stack_top(&st)->seq, UNDO_STACK_DEPTH);
    assert_null(undo_stack_find(&st, S("t1000")));
    for (int i = 1; i <= UNDO_STACK_DEPTH; i++) {
        char id[32];
        snprintf(id, sizeof(id), "t%d", i);
        const struct undo_ent *e = undo_stack_find(&st, S(id));
        assert_non_null(e);
        assert_int_equal(e->seq, i);
    }
    /* The oldest is t1 again: the next push into the full stack drops it. */
    push_n(&st, 2000, 2000);
    assert_null(undo_stack_find(&st, S("t1")));
    undo_stack_free(&st);
}

/* find gives the newest entry of an id pushed more than once. */
static void find_newest(void **state)
{
    (void)state;
    struct undo_stack st;
    undo_stack_init(&st);
    assert_int_equal(undo_stack_push(&st, 1, 2, S("a")), 0);
    assert_int_equal(undo_stack_push(&st, 2, 2, S("b")), 0);
    assert_int_equal(undo_stack_push(&st, 3, 3, S("a")), 0);
    assert_int_equal(undo_stack_find(&st, S("a"))->seq, 3);
    assert_int_equal(undo_stack_reserve(&st, 1000), 0);
    assert_true(st.jcap - st.jn >= 1000);
    undo_stack_free(&st);
}

/* A held transaction (its COMMIT on the way) with a second one above it:
 * the second's rollback leaves the first's records; the first committed,
 * the second can still roll back, to the first's state and no further;
 * the first failed, both are taken back. */
static void held_transaction(void **state)
{
    (void)state;
    for (int committed = 0; committed <= 1; committed++) {
        struct undo_shelf sh;
        undo_shelf_init(&sh);
        struct undo_stack *st = undo_shelf_use(&sh, S("work"));
        assert_non_null(st);
        push_n(st, 1, 2);
        undo_shelf_commit(&sh);
        /* The first: pushes t3 and undoes t2, then is held. */
        st = undo_shelf_use(&sh, S("work"));
        push_n(st, 3, 3);
        assert_int_equal(undo_stack_pop(st), 0);
        assert_int_equal(undo_stack_pop(st), 0);
        undo_shelf_hold(&sh);
        /* The second, above it, rolled back: the first's state stays. */
        st = undo_shelf_use(&sh, S("work"));
        push_n(st, 10, 11);
        struct undo_stack *other = undo_shelf_use(&sh, S("home"));
        push_n(other, 20, 20);
        undo_shelf_rollback(&sh);
        assert_int_equal(undo_stack_top(st)->seq, 1);
        assert_null(undo_stack_top(other));
        /* A third, still above the held one, then the settling. */
        st = undo_shelf_use(&sh, S("work"));
        push_n(st, 30, 30);
        undo_shelf_settle(&sh, committed);
        if (!committed) {
            /* Everything back to before the first. */
            assert_int_equal(undo_stack_top(st)->seq, 2);
            assert_int_equal(st->n, 2);
            assert_null(undo_stack_find(st, S("t30")));
            undo_shelf_free(&sh);
            continue;
        }
        assert_int_equal(undo_stack_top(st)->seq, 30);
        undo_shelf_rollback(&sh); /* the third, alone */
        assert_int_equal(undo_stack_top(st)->seq, 1);
        assert_int_equal(st->n, 1);
        assert_null(undo_stack_find(st, S("t2")));
        undo_shelf_free(&sh);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(newest_first),
        cmocka_unit_test(bounded),
        cmocka_unit_test(rollback_to_mark),
        cmocka_unit_test(find_newest),
        cmocka_unit_test(held_transaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
