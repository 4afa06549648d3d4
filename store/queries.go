package store

import _ "embed" // the SQL below lives in sql/, one file per query

// Each query sits in its own file under sql/, named for what it answers, so
// that it can be read, and run by hand, as SQL. The variables are set by the
// compiler and never written.
var (
	//go:embed sql/schema_migrations_exists.sql
	sqlSchemaMigrationsExists string
	//go:embed sql/create_schema_migrations.sql
	sqlCreateSchemaMigrations string
	//go:embed sql/schema_version.sql
	sqlSchemaVersion string
	//go:embed sql/record_migration.sql
	sqlRecordMigration string

	//go:embed sql/customer_diff_state.sql
	sqlCustomerDiffState string
	//go:embed sql/customer_appointments.sql
	sqlCustomerAppointments string
	//go:embed sql/customer_orders.sql
	sqlCustomerOrders string
	//go:embed sql/upsert_appointment.sql
	sqlUpsertAppointment string
	//go:embed sql/upsert_order.sql
	sqlUpsertOrder string
	//go:embed sql/insert_event.sql
	sqlInsertEvent string
	//go:embed sql/confirm_event.sql
	sqlConfirmEvent string
	//go:embed sql/record_apply.sql
	sqlRecordApply string
	//go:embed sql/record_change.sql
	sqlRecordChange string
	//go:embed sql/due_completions.sql
	sqlDueCompletions string

	//go:embed sql/upsert_customer.sql
	sqlUpsertCustomer string
	//go:embed sql/customer_by_id.sql
	sqlCustomerByID string
	//go:embed sql/customers_of_store.sql
	sqlCustomersOfStore string
	//go:embed sql/customers_due_for_poll.sql
	sqlCustomersDueForPoll string
	//go:embed sql/delete_customer.sql
	sqlDeleteCustomer string
	//go:embed sql/save_tokens.sql
	sqlSaveTokens string
	//go:embed sql/set_customer_state.sql
	sqlSetCustomerState string
	//go:embed sql/record_poll.sql
	sqlRecordPoll string

	//go:embed sql/event_by_id.sql
	sqlEventByID string
	//go:embed sql/events_after_seq.sql
	sqlEventsAfterSeq string
	//go:embed sql/max_event_seq.sql
	sqlMaxEventSeq string
)
