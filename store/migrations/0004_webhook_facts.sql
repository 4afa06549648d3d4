-- What webhooks reported about an appointment since the last poll, kept
-- apart from the polled columns (which the diff compares, so that polling
-- still finds, and confirms, every change a webhook reported): the
-- completion sweep honours them; the next poll of the appointment clears
-- them (sql/upsert_appointment.sql).
ALTER TABLE appointments ADD COLUMN webhook_canceled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE appointments ADD COLUMN webhook_to_ms INTEGER;
