// Systole: one processing element of the systolic array (Verilog-2005, synthesizable).
//
// DATAFLOW = 0 (weight-stationary; input-stationary is the same PE with the roles swapped):
//   * v_in/v_out is the stationary chain: while `load` is high the stationary register takes
//     v_in (the register above it), so a tile shifts in from the top edge one row per cycle.
//   * h_in/h_out is the streamed operand: registered, it moves one PE right per cycle.
//   * p_in/p_out is the partial sum: p_out <= p_in + v_out * h_in, it moves one PE down.
// DATAFLOW = 1 (output-stationary):
//   * h_in/h_out is A (moves right), v_in/v_out is B (moves down), both registered.
//   * p_out is the accumulator: p_out <= (clr ? 0 : p_out) + h_in * v_in. p_in is unused.
//
// The product uses the operands arriving this cycle (the neighbour's registers), exactly as
// the exact engine (simulator/src/exact/mod.rs) updates a PE. Every register holds when `en` is
// low. h (IN_W bits) is signed when `a_signed` is high and unsigned otherwise (so uint8
// activations work); v (W_W bits) is always signed. The accumulator wraps modulo 2^ACC_W.
module systole_pe #(
    parameter DATAFLOW = 0,
    parameter IN_W = 8,
    parameter W_W = 8,
    parameter ACC_W = 32
) (
    input  wire             clk,
    input  wire             rst,       // synchronous, clears every register
    input  wire             en,        // one array cycle
    input  wire             a_signed,  // h operand signed (1) or unsigned (0)
    input  wire             load,      // WS: shift the stationary chain
    input  wire             clr,       // OS: first cycle of a fold (accumulator starts at 0)
    input  wire [IN_W-1:0]  h_in,
    output reg  [IN_W-1:0]  h_out,
    input  wire [W_W-1:0]   v_in,
    output reg  [W_W-1:0]   v_out,
    input  wire [ACC_W-1:0] p_in,
    output reg  [ACC_W-1:0] p_out
);
    localparam PW = IN_W + W_W + 1;  // product width (h widened by one bit for unsigned)

    // Operands widened to PW bits so the multiplier's width is explicit.
    wire signed [PW-1:0] h_x = {{(W_W + 1){a_signed & h_in[IN_W-1]}}, h_in};
    wire [W_W-1:0] v_op;
    wire signed [PW-1:0] v_x = {{(IN_W + 1){v_op[W_W-1]}}, v_op};
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [PW-1:0] prod = h_x * v_x;  // top bits unused when ACC_W < PW
    /* verilator lint_on UNUSEDSIGNAL */
    wire [ACC_W-1:0] prod_acc;

    generate
        if (ACC_W >= PW) begin : g_wide
            assign prod_acc = {{(ACC_W - PW){prod[PW-1]}}, prod};
        end else begin : g_narrow
            assign prod_acc = prod[ACC_W-1:0];
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) h_out <= {IN_W{1'b0}};
        else if (en) h_out <= h_in;
    end

    generate
        if (DATAFLOW == 0) begin : g_ws
            assign v_op = v_out;
            wire unused_ws = &{1'b0, clr};
            always @(posedge clk) begin
                if (rst) begin
                    v_out <= {W_W{1'b0}};
                    p_out <= {ACC_W{1'b0}};
                end else if (en) begin
                    if (load) v_out <= v_in;
                    p_out <= p_in + prod_acc;
                end
            end
        end else begin : g_os
            assign v_op = v_in;
            wire unused_os = &{1'b0, load, p_in};
            always @(posedge clk) begin
                if (rst) begin
                    v_out <= {W_W{1'b0}};
                    p_out <= {ACC_W{1'b0}};
                end else if (en) begin
                    v_out <= v_in;
                    p_out <= (clr ? {ACC_W{1'b0}} : p_out) + prod_acc;
                end
            end
        end
    endgenerate
endmodule
