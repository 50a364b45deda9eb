-- Create index "order_status_created_at" to table: "orders"
CREATE INDEX `order_status_created_at` ON `orders` (`status`, `created_at`);
