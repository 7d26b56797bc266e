// The HR team's backend (인사팀): policy search and leave approval, from the seed tutorial's
// hr-server, plus a `search` tool whose name collides with the other teams'.
import { z } from 'zod';
import { answer, refusal, score, terms, type DemoTeam } from './team.js';

interface Policy {
  id: string;
  title: string;
  summary: string;
  keywords: string[];
}

const POLICIES: readonly Policy[] = [
  {
    id: 'HR-POL-001',
    title: '연차 휴가 정책',
    summary: '입사 1년 이상 직원에게 연 15일의 연차가 부여되며 3년마다 1일씩 가산되어 최대 25일까지 늘어납니다. 최소 3일 전에 신청하고, 5일 이상 연속 사용은 팀장 승인이 필요합니다.',
    keywords: ['연차', '휴가', 'annual leave', 'vacation', 'leave'],
  },
  {
    id: 'HR-POL-002',
    title: '재택근무 정책',
    summary: '주 2회까지 재택근무가 가능하며 코어타임(10:00–16:00)에는 메신저 응답이 가능해야 합니다. 재택근무일은 전날까지 팀 캘린더에 등록합니다.',
    keywords: ['재택', '원격', 'remote work', 'work from home'],
  },
  {
    id: 'HR-POL-003',
    title: '업무 장비 지급 및 반납 정책',
    summary: '신규 입사자에게 노트북 1대와 모니터 1대를 지급하며 노트북 교체 주기는 4년입니다. 분실·파손은 24시간 이내에 운영팀 티켓으로 신고하고, 퇴사 시 모든 장비를 반납합니다.',
    keywords: ['노트북', '모니터', '장비', 'equipment', 'laptop', '분실'],
  },
  {
    id: 'HR-POL-004',
    title: '국내외 출장 정책',
    summary: '국내 출장 일비는 5만원, 해외 출장 일비는 미화 80달러입니다. 출장 7일 전까지 품의를 올리고, 귀임 후 5영업일 이내에 정산합니다.',
    keywords: ['출장', '일비', 'business trip', 'travel', '정산'],
  },
  {
    id: 'HR-POL-005',
    title: '경조사 휴가 정책',
    summary: '본인 결혼 5일, 배우자 출산 10일, 부모·배우자 부모 상 5일의 유급 경조사 휴가를 부여합니다. 연차에서 차감되지 않습니다.',
    keywords: ['경조사', '결혼', '출산', '휴가', 'family leave'],
  },
  {
    id: 'HR-POL-006',
    title: '병가 정책',
    summary: '연 최대 60일의 병가를 사용할 수 있으며, 3일 이상 연속 사용 시 진단서를 제출합니다.',
    keywords: ['병가', '질병', 'sick leave', '진단서'],
  },
];

interface Employee {
  id: string;
  name: string;
  department: string;
  remainingLeave: number;
}

const LEAVE_TYPES = ['annual', 'sick', 'family'] as const;
const LEAVE_KO: Record<(typeof LEAVE_TYPES)[number], string> = { annual: '연차', sick: '병가', family: '경조사 휴가' };

export function hrTeam(): DemoTeam {
  const employees = new Map<string, Employee>(
    [
      { id: 'E1001', name: '김민준', department: '운영팀', remainingLeave: 12 },
      { id: 'E1002', name: '이서연', department: '인사팀', remainingLeave: 15 },
      { id: 'E1003', name: '박지훈', department: '재무팀', remainingLeave: 3 },
      { id: 'E1004', name: '최유나', department: '개발팀', remainingLeave: 20 },
      { id: 'E1005', name: '정하은', department: '마케팅팀', remainingLeave: 8 },
    ].map((employee) => [employee.id, employee]),
  );
  let nextApproval = 2001;

  const searchPolicies = (query: string): Policy[] => {
    const wanted = terms(query);
    return POLICIES.map((policy) => ({ policy, hits: score(wanted, [policy.title, policy.summary, ...policy.keywords]) }))
      .filter(({ hits }) => hits > 0)
      .sort((a, b) => b.hits - a.hits)
      .map(({ policy }) => policy);
  };

  return {
    kind: 'hr',
    serverName: 'hr-server',
    install(server) {
      server.registerTool(
        'search_policy',
        {
          title: '사내 정책 검색',
          description: '인사 정책(연차, 재택근무, 장비, 출장, 경조사, 병가)을 검색어로 찾습니다.',
          inputSchema: { query: z.string().min(1).describe('검색어 (예: "노트북 관련 정책", "연차")') },
          outputSchema: {
            query: z.string(),
            policies: z.array(z.object({ id: z.string(), title: z.string(), summary: z.string(), keywords: z.array(z.string()) })),
          },
          annotations: { readOnlyHint: true },
        },
        ({ query }) => {
          const found = searchPolicies(query);
          const text =
            found.length > 0
              ? found.map((policy) => `[${policy.id}] ${policy.title}\n${policy.summary}`).join('\n\n')
              : `'${query}'에 해당하는 정책이 없습니다.`;
          return answer(text, { query, policies: found.map((policy) => ({ ...policy })) });
        },
      );

      server.registerTool(
        'approve_leave',
        {
          title: '휴가 승인',
          description: '직원의 휴가 신청을 잔여 연차와 비교해 승인하거나 반려합니다. 연차 승인 시 잔여 일수에서 차감합니다.',
          inputSchema: {
            employee_id: z.string().regex(/^E\d{4}$/).describe('사번 (예: E1001)'),
            days: z.number().int().min(1).max(30).describe('휴가 일수'),
            leave_type: z.enum(LEAVE_TYPES).default('annual').describe('annual(연차), sick(병가), family(경조사)'),
            reason: z.string().max(500).optional().describe('사유'),
          },
          outputSchema: {
            approved: z.boolean(),
            employeeId: z.string(),
            name: z.string(),
            leaveType: z.enum(LEAVE_TYPES),
            days: z.number(),
            remainingLeave: z.number(),
            approvalId: z.string().optional(),
            reason: z.string().optional(),
          },
        },
        ({ employee_id, days, leave_type, reason }) => {
          const employee = employees.get(employee_id);
          if (!employee) return refusal(`사번 ${employee_id}인 직원을 찾을 수 없습니다.`);
          const facts = { employeeId: employee.id, name: employee.name, leaveType: leave_type, days };
          // Only annual leave draws on the balance; sick and family leave have their own allowances.
          if (leave_type === 'annual' && days > employee.remainingLeave) {
            return answer(
              `반려: ${employee.name}(${employee.id})의 잔여 연차는 ${employee.remainingLeave}일로, 신청한 ${days}일보다 적습니다.`,
              { ...facts, approved: false, remainingLeave: employee.remainingLeave, reason: '잔여 연차 부족' },
            );
          }
          if (leave_type === 'annual') employee.remainingLeave -= days;
          const approvalId = `LV-${nextApproval++}`;
          return answer(
            `승인: ${employee.name}(${employee.id}) ${LEAVE_KO[leave_type]} ${days}일 (${approvalId}). 잔여 연차 ${employee.remainingLeave}일.` +
              (reason ? ` 사유: ${reason}` : ''),
            { ...facts, approved: true, remainingLeave: employee.remainingLeave, approvalId, ...(reason ? { reason } : {}) },
          );
        },
      );

      server.registerTool(
        'search',
        {
          title: '인사팀 검색',
          description: '인사팀 데이터(정책과 직원 명부)를 검색합니다.',
          inputSchema: { query: z.string().min(1).describe('검색어') },
          annotations: { readOnlyHint: true },
        },
        ({ query }) => {
          const wanted = terms(query);
          const policies = searchPolicies(query);
          const people = [...employees.values()].filter((employee) => score(wanted, [employee.id, employee.name, employee.department]) > 0);
          const lines = [
            ...policies.map((policy) => `[정책] ${policy.id} ${policy.title}`),
            ...people.map((employee) => `[직원] ${employee.id} ${employee.name} (${employee.department})`),
          ];
          const text = lines.length > 0 ? `인사팀 검색 '${query}': ${lines.length}건\n${lines.join('\n')}` : `인사팀 검색 '${query}': 결과 없음`;
          return answer(text, {
            team: 'hr',
            query,
            policies: policies.map(({ id, title }) => ({ id, title })),
            employees: people.map(({ id, name, department }) => ({ id, name, department })),
          });
        },
      );
    },
  };
}
