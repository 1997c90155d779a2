// Systole: one engine's instruction scanner (Verilog-2005, synthesizable).
//
// Each engine of the controller (read DMA, array, write DMA, vector unit) walks the one
// instruction ROM with its own pointer and keeps its next instruction ready (`have`, `word`),
// so it can start it in the very cycle its predecessor ends: fetching never adds cycles while an
// engine has at least a few cycles of work in flight (docs/rtl.md, "Controller"). `OPS` has bit
// `op` set for each opcode the engine executes; END is always taken (and held: the scanner stops
// there). With `WANT_FOLD`, a load is only ready once the FOLD that follows it (whose spans say
// what the load moves) has been found with the second read port.
module systole_scan #(
    parameter AW = 9,
    parameter [15:0] OPS = 16'h0000,
    parameter WANT_FOLD = 0
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          take,       // the engine starts `word` at this edge
    output wire [AW-1:0] rom_addr,
    input  wire [127:0]  rom_data,
    output wire [AW-1:0] rom_addr2,
    input  wire [127:0]  rom_data2,
    output reg           have,
    output reg  [127:0]  word,
    output reg  [127:0]  fold
);
    reg [AW-1:0] pc, fpc;
    reg          stopped, seek;
    wire [3:0]   op = rom_data[127:124];
    wire [3:0]   op2 = rom_data2[127:124];
    wire         free = !have || take;
    assign rom_addr = pc;
    assign rom_addr2 = fpc;

    always @(posedge clk) begin
        if (rst) begin
            pc <= {AW{1'b0}};
            fpc <= {AW{1'b0}};
            have <= 1'b0;
            stopped <= 1'b0;
            seek <= 1'b0;
            word <= 128'd0;
            fold <= 128'd0;
        end else begin
            if (take) have <= 1'b0;
            if (seek) begin
                // Looking for the FOLD the found load belongs to.
                if (op2 == 4'd4) begin
                    fold <= rom_data2;
                    seek <= 1'b0;
                    have <= 1'b1;
                end else begin
                    fpc <= fpc + 1'b1;
                end
            end else if (free && !stopped) begin
                if (op == 4'd0) begin
                    word <= rom_data;
                    have <= 1'b1;
                    stopped <= 1'b1;
                end else if (OPS[op]) begin
                    word <= rom_data;
                    pc <= pc + 1'b1;
                    if (WANT_FOLD != 0) begin
                        seek <= 1'b1;
                        fpc <= pc + 1'b1;
                    end else begin
                        have <= 1'b1;
                    end
                end else begin
                    pc <= pc + 1'b1;
                end
            end
        end
    end
endmodule
