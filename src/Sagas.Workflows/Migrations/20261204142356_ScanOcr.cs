using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class ScanOcr : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "ocr_milliseconds",
                table: "scan_sessions",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "ocr_pages",
                table: "scan_sessions",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "ocr_matches_json",
                table: "scan_file_results",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "ocr_pages",
                table: "scan_file_results",
                type: "integer",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ocr_milliseconds",
                table: "scan_sessions");

            migrationBuilder.DropColumn(
                name: "ocr_pages",
                table: "scan_sessions");

            migrationBuilder.DropColumn(
                name: "ocr_matches_json",
                table: "scan_file_results");

            migrationBuilder.DropColumn(
                name: "ocr_pages",
                table: "scan_file_results");
        }
    }
}
