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
pub mod cancellation;
pub mod crud;
pub mod fields;
pub mod filters;
pub mod healing;
pub mod models;
pub mod proxy;
pub mod race;
pub mod random;
pub mod stalled;
pub mod statement_text;
pub mod storm;
pub mod throwaway;
pub mod transactions;

pub use backend::{Backend, MySql, Postgres, Stage};

/// Instantiates every test of the suite for each `module: Backend` pair given, e.g.
/// `suite! { postgres: Postgres, mysql: MySql }`. Adding a backend is adding a pair.
#[macro_export]
macro_rules! suite {
    ($($module:ident: $backend:ident),* $(,)?) => {$(
        mod $module {
            $crate::__tests_for! { $crate::$backend;
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
                    a_session_ended_from_outside_is_a_connection_error_and_the_pool_heals,
                    the_server_stops_a_statement_by_itself_when_the_client_stops_participating,
                ],
                race: [
                    stops_racing_completion_never_reach_a_later_statement,
                ],
                statement_text: [
                    a_text_of_several_statements_is_refused_and_none_of_it_runs,
                    a_callers_own_session_time_limit_is_refused,
                ],
                healing: [
                    every_idle_session_killed_on_the_server_then_every_request_succeeds,
                    idle_sessions_the_server_expired_then_every_request_succeeds,
                    a_quiet_server_restart_then_every_request_succeeds,
                    a_cached_select_star_succeeds_after_a_column_is_added,
                    max_lifetime_replaces_connections_with_new_sessions,
                    idle_timeout_replaces_connections_with_new_sessions,
                    close_under_load_stops_in_flight_statements_on_the_server_by_its_deadline,
                    a_value_too_big_for_the_server_is_refused_or_stored_never_a_broken_connection,
                    a_password_never_appears_in_errors_or_debug_output,
                ],
                stalled: [
                    at_a_stalled_network_the_caller_is_answered_at_its_deadline_and_the_pool_moves_on,
                ],
                storm: [
                    a_storm_of_random_stops_loses_none_and_hits_no_wrong_statement,
                    herds_of_simultaneous_cancels_lose_no_stop,
                    stops_reach_the_server_over_a_slow_network,
                    stops_reach_the_server_when_the_statements_link_freezes,
                ],
                bad_input: [
                    decode_errors_name_the_column_and_the_type,
                    extreme_deadlines_behave,
                    malformed_statements_and_urls_are_clear_errors,
                ],
            }
        }
    )*};
}

/// One `#[tokio::test]` per listed test, calling its body with the backend.
#[doc(hidden)]
#[macro_export]
macro_rules! __tests_for {
    ($backend:ty; $($group:ident: [$($test:ident),* $(,)?]),* $(,)?) => {$(
        mod $group {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                $crate::$group::$test::<$backend>().await;
            }
        )*}
    )*};
}
