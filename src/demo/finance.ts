// The finance team's backend (재무팀): budget calculation and expense reports, from the seed
// tutorial's finance-server, plus a `search` tool whose name collides with the other teams'.
import { z } from 'zod';
import { answer, fold, refusal, score, terms, won, type DemoTeam } from './team.js';

interface Department {
  code: string;
  name: string;
  annualBudget: number;
  spentToDate: number;
}

/** Fiscal year 2025, booked through September (nine months). */
const FISCAL_YEAR = 2025;
const MONTHS_ELAPSED = 9;

const DEPARTMENTS: readonly Department[] = [
  { code: 'ops', name: '운영팀', annualBudget: 1_200_000_000, spentToDate: 810_000_000 },
  { code: 'hr', name: '인사팀', annualBudget: 450_000_000, spentToDate: 298_000_000 },
  { code: 'finance', name: '재무팀', annualBudget: 380_000_000, spentToDate: 262_000_000 },
  { code: 'engineering', name: '개발팀', annualBudget: 2_500_000_000, spentToDate: 1_960_000_000 },
  { code: 'marketing', name: '마케팅팀', annualBudget: 900_000_000, spentToDate: 742_000_000 },
];

interface Expense {
  id: string;
  date: string;
  department: string;
  category: string;
  description: string;
  amount: number;
}

const EXPENSES: readonly Expense[] = [
  { id: 'EX-0701', date: '2025-07-03', department: 'ops', category: '장비', description: '노트북 20대 구매', amount: 36_000_000 },
  { id: 'EX-0702', date: '2025-07-10', department: 'engineering', category: '클라우드', description: 'AWS 7월 사용료', amount: 48_500_000 },
  { id: 'EX-0703', date: '2025-07-15', department: 'marketing', category: '광고', description: '여름 캠페인 온라인 광고', amount: 65_000_000 },
  { id: 'EX-0704', date: '2025-07-22', department: 'hr', category: '교육', description: '신입사원 온보딩 교육', amount: 12_000_000 },
  { id: 'EX-0801', date: '2025-08-05', department: 'ops', category: '시설', description: '3층 회의실 프로젝터 교체', amount: 4_200_000 },
  { id: 'EX-0802', date: '2025-08-11', department: 'engineering', category: '클라우드', description: 'AWS 8월 사용료', amount: 51_300_000 },
  { id: 'EX-0803', date: '2025-08-19', department: 'finance', category: '외주', description: '상반기 회계 감사 수수료', amount: 28_000_000 },
  { id: 'EX-0804', date: '2025-08-27', department: 'hr', category: '복리후생', description: '직원 건강검진', amount: 21_500_000 },
  { id: 'EX-0901', date: '2025-09-02', department: 'ops', category: '장비', description: '모니터 15대 및 도킹 스테이션 10대 구매', amount: 9_800_000 },
  { id: 'EX-0902', date: '2025-09-09', department: 'engineering', category: '클라우드', description: 'AWS 9월 사용료', amount: 53_100_000 },
  { id: 'EX-0903', date: '2025-09-16', department: 'marketing', category: '행사', description: '추석 고객 사은 행사', amount: 38_000_000 },
  { id: 'EX-0904', date: '2025-09-24', department: 'finance', category: '소프트웨어', description: 'ERP 라이선스 갱신', amount: 17_500_000 },
  { id: 'EX-0905', date: '2025-09-30', department: 'hr', category: '교육', description: '리더십 교육 (팀장 12명)', amount: 9_600_000 },
];

function findDepartment(query: string): Department | undefined {
  const wanted = fold(query);
  return DEPARTMENTS.find((d) => d.code === wanted || fold(d.name) === wanted || fold(d.name).replace(/팀$/, '') === wanted);
}

const PERIOD = /^(\d{4})(?:-(Q[1-4]|0[1-9]|1[0-2]))?$/;

/** The months (1–12) a period such as 2025, 2025-Q3 or 2025-08 covers. */
function periodMonths(period: string): { year: number; months: number[] } | undefined {
  const match = PERIOD.exec(period);
  if (!match) return undefined;
  const year = Number(match[1]);
  const part = match[2];
  if (part === undefined) return { year, months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };
  if (part.startsWith('Q')) {
    const quarter = Number(part.slice(1));
    return { year, months: [1, 2, 3].map((m) => (quarter - 1) * 3 + m) };
  }
  return { year, months: [Number(part)] };
}

function departmentName(code: string): string {
  return DEPARTMENTS.find((d) => d.code === code)?.name ?? code;
}

export function financeTeam(): DemoTeam {
  return {
    kind: 'finance',
    serverName: 'finance-server',
    install(server) {
      server.registerTool(
        'calculate_budget',
        {
          title: '부서 예산 계산',
          description: `부서의 ${FISCAL_YEAR} 회계연도 예산 집행 현황과 향후 기간의 권장 예산을 계산합니다.`,
          inputSchema: {
            department: z.string().min(1).describe('부서 (운영팀, 인사팀, 재무팀, 개발팀, 마케팅팀 또는 ops, hr, finance, engineering, marketing)'),
            months: z.number().int().min(1).max(24).default(12).describe('권장 예산을 계산할 기간(개월)'),
            growth_rate: z.number().min(-50).max(100).default(0).describe('예상 증감률(%)'),
          },
          outputSchema: {
            department: z.string(),
            code: z.string(),
            fiscalYear: z.number(),
            annualBudget: z.number(),
            spentToDate: z.number(),
            remaining: z.number(),
            utilizationPct: z.number(),
            monthlyBurn: z.number(),
            projectedYearEnd: z.number(),
            overBudget: z.boolean(),
            months: z.number(),
            growthRatePct: z.number(),
            proposedBudget: z.number(),
          },
          annotations: { readOnlyHint: true },
        },
        ({ department, months, growth_rate }) => {
          const dept = findDepartment(department);
          if (!dept) return refusal(`'${department}' 부서를 찾을 수 없습니다. 가능한 부서: ${DEPARTMENTS.map((d) => d.name).join(', ')}`);
          const monthlyBurn = Math.round(dept.spentToDate / MONTHS_ELAPSED);
          const projectedYearEnd = monthlyBurn * 12;
          const proposedBudget = Math.round(monthlyBurn * months * (1 + growth_rate / 100));
          const facts = {
            department: dept.name,
            code: dept.code,
            fiscalYear: FISCAL_YEAR,
            annualBudget: dept.annualBudget,
            spentToDate: dept.spentToDate,
            remaining: dept.annualBudget - dept.spentToDate,
            utilizationPct: Math.round((dept.spentToDate / dept.annualBudget) * 1000) / 10,
            monthlyBurn,
            projectedYearEnd,
            overBudget: projectedYearEnd > dept.annualBudget,
            months,
            growthRatePct: growth_rate,
            proposedBudget,
          };
          const text = [
            `${dept.name} ${FISCAL_YEAR} 예산: ${won(dept.annualBudget)}, 집행 ${won(dept.spentToDate)} (${facts.utilizationPct}%), 잔액 ${won(facts.remaining)}`,
            `월평균 집행 ${won(monthlyBurn)} → 연말 예상 ${won(projectedYearEnd)}${facts.overBudget ? ' (예산 초과 예상)' : ''}`,
            `향후 ${months}개월 권장 예산 (증감률 ${growth_rate}%): ${won(proposedBudget)}`,
          ].join('\n');
          return answer(text, facts);
        },
      );

      server.registerTool(
        'generate_report',
        {
          title: '비용 보고서 생성',
          description: '기간(예: 2025, 2025-Q3, 2025-08)의 비용 보고서를 부서별·항목별로 집계합니다.',
          inputSchema: {
            period: z.string().regex(PERIOD).describe('기간: YYYY, YYYY-Q1..Q4 또는 YYYY-MM'),
            department: z.string().optional().describe('특정 부서만 (생략 시 전체)'),
          },
          outputSchema: {
            period: z.string(),
            department: z.string().optional(),
            total: z.number(),
            count: z.number(),
            byDepartment: z.record(z.string(), z.number()),
            byCategory: z.record(z.string(), z.number()),
          },
          annotations: { readOnlyHint: true },
        },
        ({ period, department }) => {
          const range = periodMonths(period);
          if (!range) return refusal(`기간 '${period}'의 형식이 올바르지 않습니다. 예: 2025, 2025-Q3, 2025-08`);
          const dept = department === undefined ? undefined : findDepartment(department);
          if (department !== undefined && !dept) return refusal(`'${department}' 부서를 찾을 수 없습니다.`);
          const rows = EXPENSES.filter((expense) => {
            const [year, month] = expense.date.split('-').map(Number);
            return year === range.year && range.months.includes(month ?? 0) && (!dept || expense.department === dept.code);
          });
          const byDepartment: Record<string, number> = {};
          const byCategory: Record<string, number> = {};
          for (const row of rows) {
            const name = departmentName(row.department);
            byDepartment[name] = (byDepartment[name] ?? 0) + row.amount;
            byCategory[row.category] = (byCategory[row.category] ?? 0) + row.amount;
          }
          const total = rows.reduce((sum, row) => sum + row.amount, 0);
          const title = `${period} 비용 보고서${dept ? ` — ${dept.name}` : ''}`;
          const text =
            rows.length === 0
              ? `${title}: 해당 기간의 비용 내역이 없습니다.`
              : [
                  `${title}: 총 ${won(total)} (${rows.length}건)`,
                  '부서별: ' + Object.entries(byDepartment).map(([k, v]) => `${k} ${won(v)}`).join(', '),
                  '항목별: ' + Object.entries(byCategory).map(([k, v]) => `${k} ${won(v)}`).join(', '),
                ].join('\n');
          return answer(text, { period, ...(dept ? { department: dept.name } : {}), total, count: rows.length, byDepartment, byCategory });
        },
      );

      server.registerTool(
        'search',
        {
          title: '재무팀 검색',
          description: '재무팀 데이터(비용 집행 내역)를 검색합니다.',
          inputSchema: { query: z.string().min(1).describe('검색어 (예: 노트북, 클라우드, 운영팀)') },
          annotations: { readOnlyHint: true },
        },
        ({ query }) => {
          const wanted = terms(query);
          const found = EXPENSES.filter(
            (expense) => score(wanted, [expense.id, expense.description, expense.category, expense.department, departmentName(expense.department)]) > 0,
          );
          const text =
            found.length > 0
              ? `재무팀 검색 '${query}': ${found.length}건\n` +
                found.map((e) => `[비용] ${e.id} ${e.date} ${departmentName(e.department)} ${e.description} ${won(e.amount)}`).join('\n')
              : `재무팀 검색 '${query}': 결과 없음`;
          return answer(text, { team: 'finance', query, expenses: found.map((expense) => ({ ...expense })) });
        },
      );
    },
  };
}
