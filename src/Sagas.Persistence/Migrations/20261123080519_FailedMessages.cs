using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class FailedMessages : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "failed_messages",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    message_types = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    queue = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    exception_type = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: false),
                    exception_message = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: false),
                    stack_trace = table.Column<string>(type: "character varying(8000)", maxLength: 8000, nullable: true),
                    faulted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    body = table.Column<byte[]>(type: "bytea", nullable: false),
                    content_type = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    headers = table.Column<string>(type: "text", nullable: false),
                    redelivered_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    redelivery_count = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_failed_messages", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_failed_messages_faulted_at",
                table: "failed_messages",
                column: "faulted_at");

            migrationBuilder.CreateIndex(
                name: "ix_failed_messages_message_id_queue",
                table: "failed_messages",
                columns: new[] { "message_id", "queue" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_failed_messages_queue_faulted_at",
                table: "failed_messages",
                columns: new[] { "queue", "faulted_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "failed_messages");
        }
    }
}
