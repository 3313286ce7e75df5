using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class WebhookDeliveryLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "attempts",
                table: "webhook_deliveries",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "body",
                table: "webhook_deliveries",
                type: "text",
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "created_at",
                table: "webhook_deliveries",
                type: "timestamp with time zone",
                nullable: false,
                defaultValue: new DateTimeOffset(new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified), new TimeSpan(0, 0, 0, 0, 0)));

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "last_attempt_at",
                table: "webhook_deliveries",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "last_error",
                table: "webhook_deliveries",
                type: "character varying(500)",
                maxLength: 500,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "last_latency_ms",
                table: "webhook_deliveries",
                type: "integer",
                nullable: true);

            // Rows from before this migration: their only instants are the claim and the send.
            migrationBuilder.Sql("UPDATE webhook_deliveries SET created_at = COALESCE(sent_at, claimed_until), last_attempt_at = COALESCE(sent_at, claimed_until), attempts = 1;");

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_created_at",
                table: "webhook_deliveries",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_endpoint_created_at",
                table: "webhook_deliveries",
                columns: new[] { "endpoint", "created_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_webhook_deliveries_created_at",
                table: "webhook_deliveries");

            migrationBuilder.DropIndex(
                name: "ix_webhook_deliveries_endpoint_created_at",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "attempts",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "body",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "created_at",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "last_attempt_at",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "last_error",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "last_latency_ms",
                table: "webhook_deliveries");
        }
    }
}
