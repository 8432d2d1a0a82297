//! The cross-backend behaviour suite: one body of tests, written once against tethered's
//! public API and generic over [`Backend`], run on every backend by
//! `tethered_tests::suite!` in `tests/tests/suite.rs`.
//!
//! Every test works in a namespace of its own on the server (a PostgreSQL schema, a MariaDB
//! database, uniquely named), so tests run in parallel and never depend on an empty
//! database.

// The test bodies are public for the macro and named for what they prove.
#![allow(missing_docs)]

pub mod backend;
pub mod bad_input;
pub mod balanced;
pub mod cancellation;
pub mod capture;
pub mod copy;
pub mod crud;
pub mod errors;
pub mod fields;
pub mod filters;
pub mod healing;
pub mod models;
pub mod observe;
pub mod proxy;
pub mod race;
pub mod random;
pub mod report_rows;
// Shared with the examples, whose SQLite "server view" it is too.
#[path = "../../examples/common/sqlite_view.rs"]
pub mod sqlite_view;
pub mod stalled;
pub mod statement_text;
pub mod storm;
pub mod streaming;
pub mod tasks;
pub mod throwaway;
pub mod transactions;
pub mod types;

pub use backend::{Backend, MySql, Postgres, Sqlite, Stage};

/// Instantiates every test of the suite for each `module: Backend` pair given, e.g.
/// `suite! { postgres: Postgres, mysql: MySql }`. Adding a server backend is adding a pair.
#[macro_export]
macro_rules! suite {
    ($($module:ident: $backend:ident),* $(,)?) => {$(
        mod $module {
            $crate::__suite_list! { server; $backend }
        }
    )*};
}

/// Like [`suite!`], for an embedded backend (SQLite): every test but those marked
/// `@server`, which need a real server (sessions ended or expired from outside, server
/// restarts, proxies, load balancers, storms over the network, row-lock deadlocks, logins).
#[macro_export]
macro_rules! embedded_suite {
    ($($module:ident: $backend:ident),* $(,)?) => {$(
        mod $module {
            $crate::__suite_list! { embedded; $backend }
        }
    )*};
}

/// The list of every test, by group; `@server` marks those only a server backend runs,
/// `@postgres` those only PostgreSQL runs (its own features: `COPY`).
#[doc(hidden)]
#[macro_export]
macro_rules! __suite_list {
    ($mode:ident; $backend:ident) => {
            $crate::__tests_for! { $mode; $backend;
                crud: [
                    insert_returns_the_stored_row_and_find_reads_it_back,
                    update_and_delete_change_exactly_the_keyed_row,
                    insert_many_and_delete_where_work_on_models_without_a_key,
                    skipped_fields_are_neither_stored_nor_read,
                ],
                filters: [
                    every_comparison_selects_the_expected_rows,
                    filters_combine_with_and_or_and_not,
                    order_limit_and_offset_page_through_rows,
                    one_optional_and_count_read_single_results,
                    injection_shaped_strings_round_trip_through_inserts_and_filters,
                    text_filters_take_wildcards_literally_and_ilike_ignores_case,
                ],
                observe: [
                    a_completed_statement_is_a_span_with_the_conventions_fields,
                    a_failed_statement_is_a_span_with_its_error_type,
                    a_deadline_stopped_statement_is_a_span_with_cause_and_outcome,
                    a_dropped_statement_is_stopped_under_a_span_of_its_own,
                    a_slow_statement_is_logged_at_warn_without_its_values,
                    the_in_flight_board_shows_a_running_statement_then_nothing,
                ],
                fields: [
                    every_field_type_round_trips_at_its_extremes,
                    nulls_round_trip_in_every_optional_field,
                    unsigned_64_bit_values_are_stored_or_refused_never_truncated,
                ],
                transactions: [
                    a_committed_transaction_is_visible_and_a_rolled_back_one_is_not,
                    a_transaction_cancelled_between_two_inserts_leaves_neither_row,
                    a_transaction_whose_second_insert_is_stopped_mid_flight_leaves_neither_row,
                    a_dropped_transaction_rolls_back,
                    an_insert_inside_a_transaction_reads_its_row_back_there,
                ],
                cancellation: [
                    a_deadline_stops_a_sleep_on_the_server,
                    an_explicit_cancel_stops_a_sleep_on_the_server,
                    a_parent_cancel_stops_a_sleep_on_the_server,
                    a_future_dropped_by_timeout_stops_a_sleep_on_the_server,
                    a_future_dropped_by_select_stops_a_sleep_on_the_server,
                    a_deadline_stops_a_busy_statement_on_the_server,
                    an_explicit_cancel_stops_a_busy_statement_on_the_server,
                    a_parent_cancel_stops_a_busy_statement_on_the_server,
                    a_future_dropped_by_timeout_stops_a_busy_statement_on_the_server,
                    a_future_dropped_by_select_stops_a_busy_statement_on_the_server,
                    a_done_context_sends_nothing,
                    an_exhausted_pool_ends_the_wait_at_the_deadline,
                    a_cancel_works_while_every_pooled_connection_is_busy,
                    @server a_session_ended_from_outside_is_a_connection_error_and_the_pool_heals,
                    the_server_stops_a_statement_by_itself_when_the_client_stops_participating,
                ],
                errors: [
                    a_duplicate_key_is_a_unique_violation_naming_its_constraint,
                    a_missing_parent_and_a_referenced_parent_are_foreign_key_violations,
                    a_null_into_not_null_is_a_not_null_violation_naming_its_column,
                    a_failed_check_is_a_check_violation_naming_its_constraint,
                    @server two_transactions_locking_two_rows_in_opposite_order_deadlock,
                    @server a_write_to_a_row_changed_since_the_snapshot_is_a_serialization_failure,
                    @server the_retry_helper_runs_a_deadlocked_transaction_again_and_commits_it,
                    @server the_retry_helper_runs_a_transaction_that_failed_to_serialize_again_and_commits_it,
                    the_retry_helper_stops_when_the_deadline_leaves_no_room_and_reports_the_attempts,
                    the_retry_helper_returns_other_errors_at_once,
                    row_not_found_names_a_models_table_and_not_raw_sqls,
                ],
                report_rows: [
                    a_report_row_from_a_join_with_an_aggregate_reads_by_column_name,
                    missing_columns_take_defaults_and_nulls_do_not,
                    sixteen_columns_read_into_a_tuple,
                ],
                race: [
                    stops_racing_completion_never_reach_a_later_statement,
                ],
                statement_text: [
                    a_text_of_several_statements_is_refused_and_none_of_it_runs,
                    a_callers_own_session_time_limit_is_refused,
                ],
                healing: [
                    @server every_idle_session_killed_on_the_server_then_every_request_succeeds,
                    @server idle_sessions_the_server_expired_then_every_request_succeeds,
                    @server a_quiet_server_restart_then_every_request_succeeds,
                    a_cached_select_star_succeeds_after_a_column_is_added,
                    max_lifetime_replaces_connections_with_new_sessions,
                    idle_timeout_replaces_connections_with_new_sessions,
                    close_under_load_stops_in_flight_statements_on_the_server_by_its_deadline,
                    @server a_value_too_big_for_the_server_is_refused_or_stored_never_a_broken_connection,
                    @server a_password_never_appears_in_errors_or_debug_output,
                ],
                balanced: [
                    @server behind_a_load_balancer_every_stop_reaches_its_own_server_and_no_other,
                ],
                stalled: [
                    @server at_a_stalled_network_the_caller_is_answered_at_its_deadline_and_the_pool_moves_on,
                ],
                storm: [
                    @server a_storm_of_random_stops_loses_none_and_hits_no_wrong_statement,
                    @server herds_of_simultaneous_cancels_lose_no_stop,
                    @server stops_reach_the_server_over_a_slow_network,
                    @server stops_reach_the_server_when_the_statements_link_freezes,
                ],
                streaming: [
                    ten_million_streamed_rows_keep_memory_flat,
                    a_deadline_mid_stream_stops_the_statement_on_the_server,
                    an_explicit_cancel_mid_stream_stops_the_statement_on_the_server,
                    a_stream_dropped_after_ten_rows_stops_the_statement_and_the_connection_runs_on,
                    a_stream_on_the_pool_dropped_part_way_returns_its_connection,
                    fetch_all_of_a_flood_obeys_its_deadline_between_rows,
                    insert_many_of_a_hundred_thousand_rows_splits_under_the_parameter_limit,
                    insert_many_returning_gives_back_the_stored_rows_in_order,
                    a_statement_over_the_parameter_limit_is_invalid_input_and_sends_nothing,
                ],
                copy: [
                    @postgres a_hundred_thousand_copied_rows_read_back_equal,
                    @postgres a_deadline_mid_copy_stops_it_and_stores_nothing,
                    @postgres an_explicit_cancel_mid_copy_stops_it_and_stores_nothing,
                    @postgres a_cancel_while_a_small_copy_is_held_stops_it_and_stores_nothing,
                    @postgres a_copy_future_dropped_mid_copy_stops_it_and_stores_nothing,
                    @postgres a_copy_stopped_in_a_transaction_leaves_it_to_roll_back,
                    @postgres a_value_its_column_cannot_take_is_invalid_input_and_no_row_is_sent,
                ],
                tasks: [
                    a_task_of_a_scope_that_ends_is_aborted_and_its_statement_stopped,
                    a_detached_write_completes_after_its_request_is_cancelled,
                ],
                types: [
                    chrono_values_round_trip_at_their_extremes,
                    timestamp_columns_keep_the_instant_in_utc,
                    lossy_times_are_refused_with_clear_errors,
                    uuids_round_trip_as_keys_filters_and_raw_values,
                    json_round_trips_nested_and_null,
                    decimals_round_trip_at_full_precision_and_refuse_wider_values,
                    sums_of_integers_decode_into_integers_and_decimals,
                    enums_round_trip_as_text_integers_and_native_types,
                    a_generic_shop_service_serves_every_column_type,
                    decode_errors_use_short_type_names,
                    time_values_round_trip_at_their_extremes,
                ],
                bad_input: [
                    decode_errors_name_the_column_and_the_type,
                    extreme_deadlines_behave,
                    @server malformed_statements_and_urls_are_clear_errors,
                ],
            }
    };
}

/// One `#[tokio::test]` per listed test, calling its body with the backend; in `embedded`
/// mode, none for a test marked `@server`; on any backend but PostgreSQL, none for a test
/// marked `@postgres`.
#[doc(hidden)]
#[macro_export]
macro_rules! __tests_for {
    ($mode:ident; $backend:ident; $($group:ident: [$($(@$tag:ident)? $test:ident),* $(,)?]),* $(,)?) => {$(
        mod $group {$(
            $crate::__test! { $mode; $($tag)?; $backend; $group; $test }
        )*}
    )*};
}

/// One test of [`__tests_for!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __test {
    (embedded; server; $backend:ident; $group:ident; $test:ident) => {};
    ($mode:ident; postgres; Postgres; $group:ident; $test:ident) => {
        $crate::__test! { $mode; ; Postgres; $group; $test }
    };
    ($mode:ident; postgres; $backend:ident; $group:ident; $test:ident) => {};
    ($mode:ident; $($tag:ident)?; $backend:ident; $group:ident; $test:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            $crate::$group::$test::<$crate::$backend>().await;
        }
    };
}
