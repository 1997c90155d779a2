// Systole: testbench running one fold of systole_fold (Icarus Verilog -g2005 and Verilator
// --binary). Run it in a directory holding the operand files:
//   DATAFLOW 0 (WS; IS with the roles swapped):
//     stat.hex  the stationary tile, ROWS*COLS elements (W_W bits), row-major, zero-padded
//     strm.hex  the streamed vectors, T*ROWS elements (IN_W bits), vector t at t*ROWS
//   DATAFLOW 1 (OS):
//     a.hex     the A block, ROWS*T elements (IN_W bits), row-major, zero-padded rows
//     b.hex     the B block, T*COLS elements (W_W bits), row-major, zero-padded columns
// Plusargs: +T=<fold length, 1..TMAX> [+A_SIGNED=<0|1>, default 1].
// Several configurations can share one simulator binary (Verilator builds are slow): a wrapper
// instantiates fold_tb once per configuration with CFG_ID = 0, 1, ...; only the instance whose
// CFG_ID equals the plusarg +CFG=<id> runs. With the default CFG_ID = -1 the instance always
// runs.
// Writes (two's complement, ACC_W bits, one hex word per line):
//   out.hex         WS: the T x COLS sums y[t][c], row-major; OS: the ROWS x COLS accumulators
//   out_cycles.txt  WS only: for each sum, the array cycle (decimal, from the fold's cycle 0)
//                   after which it was in the bottom register (the engine's output_cycle)
// and prints `CYCLES <n>`: edges from the one sampling `start` to the one sampling `done`.
module fold_tb;
    parameter ROWS = 4;
    parameter COLS = 4;
    parameter DATAFLOW = 0;
    parameter IN_W = 8;
    parameter W_W = 8;
    parameter ACC_W = 32;
    parameter TMAX = 64;
    parameter CFG_ID = -1;
    localparam T_W = 16;

    reg clk = 1'b0;
    reg rst = 1'b1;
    reg start = 1'b0;
    reg a_signed = 1'b1;
    reg [T_W-1:0] t_len;
    wire busy, done, h_rd, v_rd;
    wire [T_W-1:0] h_addr, v_addr;
    reg [ROWS*IN_W-1:0] h_data;
    reg [COLS*W_W-1:0] v_data;
    wire [COLS*ACC_W-1:0] y;
    wire [COLS-1:0] y_vld;
    wire [ROWS*COLS*ACC_W-1:0] acc;

    systole_fold #(
        .ROWS(ROWS), .COLS(COLS), .DATAFLOW(DATAFLOW), .IN_W(IN_W), .W_W(W_W), .ACC_W(ACC_W),
        .T_W(T_W)
    ) dut (
        .clk(clk), .rst(rst), .start(start), .t_len(t_len), .a_signed(a_signed),
        .busy(busy), .done(done),
        .h_rd(h_rd), .h_addr(h_addr), .h_data(h_data),
        .v_rd(v_rd), .v_addr(v_addr), .v_data(v_data),
        .y(y), .y_vld(y_vld), .acc(acc)
    );

    wire [31:0] h_a32 = {{(32 - T_W){1'b0}}, h_addr};
    wire [31:0] v_a32 = {{(32 - T_W){1'b0}}, v_addr};

    // Operand memories (element per word) and the sums.
    reg [IN_W-1:0] hmem [0:ROWS*TMAX-1];
    reg [W_W-1:0] vmem [0:COLS*TMAX-1];
    reg [ACC_W-1:0] ymem [0:TMAX*COLS-1];
    integer ycyc [0:TMAX*COLS-1];
    integer ycount [0:COLS-1];
    integer t_arg, s_arg, c_arg, e, cyc, s_edge, d_edge, fd, fc, i;
    reg active;

    initial begin
        active = 1'b1;
        cyc = 0;
        t_arg = 1;
        if (CFG_ID >= 0) begin
            if (!$value$plusargs("CFG=%d", c_arg)) c_arg = -1;
            active = (c_arg == CFG_ID);
        end
        if (active) setup;
    end

    task setup;
    begin
        if (!$value$plusargs("T=%d", t_arg)) begin
            $display("ERROR missing +T=<n>");
            $finish;
        end
        if (t_arg < 1 || t_arg > TMAX) begin
            $display("ERROR T=%0d outside 1..%0d", t_arg, TMAX);
            $finish;
        end
        if ($value$plusargs("A_SIGNED=%d", s_arg)) a_signed = (s_arg != 0);
        t_len = t_arg[T_W-1:0];
        if (DATAFLOW == 0) begin
            $readmemh("stat.hex", vmem, 0, ROWS * COLS - 1);
            $readmemh("strm.hex", hmem, 0, t_arg * ROWS - 1);
        end else begin
            $readmemh("a.hex", hmem, 0, ROWS * t_arg - 1);
            $readmemh("b.hex", vmem, 0, t_arg * COLS - 1);
        end
        for (e = 0; e < COLS; e = e + 1) ycount[e] = 0;
        s_edge = -1;
        d_edge = -1;
    end
    endtask

    always #5 clk = ~clk;

    // Synchronous-read memories (one cycle of latency, as systole_fold expects).
    always @(posedge clk) begin
        if (h_rd) begin
            for (i = 0; i < ROWS; i = i + 1) begin
                if (DATAFLOW == 0) h_data[i*IN_W +: IN_W] <= hmem[h_a32 * ROWS + i];
                else h_data[i*IN_W +: IN_W] <= hmem[i * t_arg + h_a32];
            end
        end
        if (v_rd) begin
            for (i = 0; i < COLS; i = i + 1) begin
                v_data[i*W_W +: W_W] <= vmem[v_a32 * COLS + i];
            end
        end
    end

    always @(posedge clk) if (active) begin
        cyc <= cyc + 1;
        rst <= (cyc < 3);
        start <= (cyc == 5);
        if (start) s_edge = cyc;
        if (done && d_edge < 0) d_edge = cyc;
        // WS sums: array cycle i runs at edge S+1+i; its sums are sampled at edge S+2+i.
        for (e = 0; e < COLS; e = e + 1) begin
            if (y_vld[e]) begin
                if (ycount[e] < t_arg) begin
                    ymem[ycount[e] * COLS + e] = y[e*ACC_W +: ACC_W];
                    ycyc[ycount[e] * COLS + e] = cyc - s_edge - 2;
                end
                ycount[e] = ycount[e] + 1;
            end
        end
        if (d_edge >= 0 && cyc == d_edge + 1) begin
            $display("CYCLES %0d", d_edge - s_edge);
            fd = $fopen("out.hex", "w");
            if (DATAFLOW == 0) begin
                fc = $fopen("out_cycles.txt", "w");
                for (e = 0; e < COLS; e = e + 1) begin
                    if (ycount[e] != t_arg)
                        $display("ERROR column %0d produced %0d sums, expected %0d", e,
                                 ycount[e], t_arg);
                end
                for (i = 0; i < t_arg * COLS; i = i + 1) begin
                    $fwrite(fd, "%h\n", ymem[i]);
                    $fwrite(fc, "%0d\n", ycyc[i]);
                end
                $fclose(fc);
            end else begin
                for (i = 0; i < ROWS * COLS; i = i + 1) $fwrite(fd, "%h\n", acc[i*ACC_W +: ACC_W]);
            end
            $fclose(fd);
            $finish;
        end
        if (cyc > 100 + 4 * (ROWS + COLS + t_arg)) begin
            $display("ERROR timeout: no done after %0d cycles", cyc);
            $finish;
        end
    end
endmodule
