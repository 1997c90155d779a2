// Systole: the requantization unit (Verilog-2005, synthesizable, combinational).
//
// y = clamp(((acc + bias) * m0 + 2^(t-1)) >>> t + z, lo, hi), t = 31 + shift, then the fused
// ReLU max(y, z): compiler/src/reference/int/gemm.rs::requant_output in the modes the RTL
// supports (rounding RND = half toward +inf, overflow SAT; systole_sim::rtl::supported refuses
// the others). The sum is formed in 65 bits and the product in 128, so it equals the reference's
// i128 path for every 32-bit accumulator and 64-bit bias.
module systole_requant #(
    parameter ACC_W = 32
) (
    input  wire [ACC_W-1:0] acc,       // the accumulator (two's complement), bias not added
    input  wire [63:0]      bias_raw,  // the bias ROM word: bias_w bits of two's complement
    input  wire [6:0]       bias_w,    // bits of the bias word, 1..64
    input  wire [31:0]      m0,        // the 31-bit multiplier (non-negative)
    input  wire [7:0]       shift,     // signed: t = 31 + shift, 1..126
    input  wire [16:0]      zero,      // signed output zero point
    input  wire [5:0]       bits,      // output bits, 1..32
    input  wire             out_signed,
    input  wire             relu,
    output wire [31:0]      y          // the output code, sign-extended to 32 bits
);
    wire [6:0]  sh_bias = 7'd64 - bias_w;
    wire signed [63:0] bias = $signed(bias_raw << sh_bias) >>> sh_bias;
    wire signed [127:0] sum = $signed({{(128 - ACC_W) {acc[ACC_W-1]}}, acc}) +
                              $signed({{64{bias[63]}}, bias});
    wire signed [127:0] prod = sum * $signed({96'd0, m0});
    wire signed [8:0]  t = 9'sd31 + $signed({shift[7], shift});
    wire [6:0]  tu = t[6:0];
    wire signed [127:0] half = $signed(128'd1 << (tu - 7'd1));
    wire signed [127:0] q = (prod + half) >>> tu;
    wire signed [127:0] z = $signed({{111{zero[16]}}, zero});
    wire signed [127:0] v = q + z;
    wire [5:0]  bm1 = bits - 6'd1;
    wire signed [127:0] hi = out_signed ? $signed((128'd1 << bm1) - 128'd1)
                                        : $signed((128'd1 << bits) - 128'd1);
    wire signed [127:0] lo = out_signed ? -$signed(128'd1 << bm1) : 128'sd0;
    wire signed [127:0] c1 = (v > hi) ? hi : ((v < lo) ? lo : v);
    wire signed [127:0] c2 = (relu && (c1 < z)) ? z : c1;
    assign y = c2[31:0];
    /* verilator lint_off UNUSEDSIGNAL */
    wire unused = &{1'b0, c2[127:32], t[8:7]};
    /* verilator lint_on UNUSEDSIGNAL */
endmodule
