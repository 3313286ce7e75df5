using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class FailedMessageGroups : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "skipped",
                table: "bulk_operations",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.CreateIndex(
                name: "ix_failed_messages_unresolved_group",
                table: "failed_messages",
                columns: new[] { "queue", "exception_type", "faulted_at", "id" },
                filter: "redelivered_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_failed_messages_unresolved_group",
                table: "failed_messages");

            migrationBuilder.DropColumn(
                name: "skipped",
                table: "bulk_operations");
        }
    }
}
